"""The local queue's worker processes never outlive the server that started them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

# A parent that starts a pool with the queue's worker initializer, lets one worker go idle,
# prints its PID, and waits to be killed.
_PARENT = """
import multiprocessing, os, sys, time
from concurrent.futures import ProcessPoolExecutor
from meshsmith.service.queue import _init_worker
pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                           initializer=_init_worker, initargs=(0, os.getpid()))
print(pool.submit(os.getpid).result(), flush=True)
time.sleep(120)
"""


def test_idle_worker_exits_when_its_server_is_killed() -> None:
    parent = subprocess.Popen([sys.executable, "-c", _PARENT], stdout=subprocess.PIPE,
                              text=True)
    assert parent.stdout is not None
    worker = int(parent.stdout.readline())
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(worker):
        time.sleep(0.2)
    assert not _alive(worker), "an idle worker outlived its server"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/status") as fh:
        return "State:\tZ" not in fh.read()


def test_a_worker_whose_server_died_before_it_started_exits_at_once() -> None:
    """The initializer is told the server's PID; a worker already reparented when it runs
    (the server was killed while the pool was starting) must not wait for its new parent."""
    code = ("import os, threading, time\n"
            "from meshsmith.service.queue import _init_worker\n"
            "_init_worker(0, os.getppid() + 100000)\n"  # a server PID that is not the parent
            "time.sleep(30)\n")
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", code], timeout=20)
    assert proc.returncode == 0 and time.monotonic() - started < 10
