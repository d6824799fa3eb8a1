from __future__ import annotations

import os
import threading

import pytest

from meshsmith import _fork
from meshsmith._fork import Background, fork_workers, forked_map


def _allow_forks(monkeypatch: pytest.MonkeyPatch) -> None:
    # pytest's own threads would otherwise (rightly) keep these helpers in-process
    monkeypatch.setattr(_fork, "fork_workers", lambda wanted=2: min(wanted, 2))


def test_background_work_runs_in_a_forked_child_and_returns_its_result(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _allow_forks(monkeypatch)
    data = list(range(1000))  # inherited by the child, not pickled
    with Background(lambda: (os.getpid(), sum(data))) as job:
        pid, total = job.result() or (0, 0)
    assert pid not in (0, os.getpid())
    assert total == sum(range(1000))


def test_background_work_is_not_started_where_forking_is_unsafe(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_fork, "fork_workers", lambda wanted=2: 0)
    ran = []
    with Background(lambda: ran.append(1)) as job:
        assert job.result() is None
    assert ran == []


def test_an_error_in_background_work_is_raised_again(monkeypatch: pytest.MonkeyPatch) -> None:
    _allow_forks(monkeypatch)

    def fail() -> None:
        raise ValueError("bad input in the child")

    with Background(fail) as job, pytest.raises(ValueError, match="bad input in the child"):
        job.result()


def test_forked_map_keeps_the_order_of_its_items() -> None:
    offset = 7
    results = list(forked_map(lambda x: (x + offset, os.getpid()), list(range(40)), 2))
    assert [r[0] for r in results] == [x + 7 for x in range(40)]
    assert all(pid != os.getpid() for _, pid in results)


def test_no_forks_while_another_thread_runs() -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert fork_workers(2) == 0
    finally:
        stop.set()
        other.join()
