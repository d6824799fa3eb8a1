"""The remote commands (submit, tasks, balance) against a real server on 127.0.0.1, through
typer's CliRunner: exit codes, the one-line errors and what they print."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import trimesh
from tests.service.server import Server, free_port, running
from typer.testing import CliRunner

from meshsmith.cli import app

DUCK = Path(__file__).resolve().parents[1] / "examples" / "duck.png"
FAST = ["--resolution", "512", "--faces", "5000", "--texture-size", "512", "-q"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running(tmp_path_factory.mktemp("cli-srv") / "data") as srv:
        yield srv


@pytest.fixture(scope="module")
def key(server: Server) -> str:
    return server.create_key(1000)


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def _error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def test_submit_writes_the_model_prints_credits_and_the_task_commands_see_it(
        server: Server, key: str, tmp_path: Path) -> None:
    out = tmp_path / "duck.glb"
    env = {"MESHSMITH_URL": server.url, "MESHSMITH_API_KEY": key}
    code, stdout, stderr = _run("submit", str(DUCK), "-o", str(out), *FAST, env=env)
    assert code == 0, stderr
    assert "30 credits spent" in stdout
    assert len(trimesh.load(out, force="mesh").faces) == 5000
    task_id = stdout.split("task ")[1].split(",")[0]
    code, listing, _ = _run("tasks", "list", "--status", "success", env=env)
    assert code == 0 and task_id in listing
    code, shown, _ = _run("tasks", "show", task_id, env=env)
    assert code == 0 and '"status": "success"' in shown
    code, fetched, _ = _run("tasks", "download", task_id, "-d", str(tmp_path / "dl"), env=env)
    assert code == 0 and str(tmp_path / "dl" / "model.glb") in fetched
    assert (tmp_path / "dl" / "model.glb").read_bytes() == out.read_bytes()
    code, balance, _ = _run("balance", env=env)
    assert code == 0 and "970 credits available, 0 frozen, 30 spent" in balance


def test_cancel_prints_the_released_credits(server: Server, key: str, tmp_path: Path) -> None:
    from meshsmith.client import Client

    with Client(server.url, key) as client:
        task = client.create_task({"front": client.upload(DUCK).file_token},
                                  resolution="512", faces=5000)
    code, stdout, stderr = _run("tasks", "cancel", task.id, "--server", server.url,
                                "--key", key)
    assert code == 0, stderr
    assert f"task {task.id} cancelled; 30 credits released" in stdout
    code, _, stderr = _run("tasks", "cancel", task.id, "--server", server.url, "--key", key)
    assert code == 2 and _error_line(stderr).startswith("error 10070002:")


def test_bad_key_exits_2_with_code_10010001(server: Server) -> None:
    code, _, stderr = _run("balance", "--server", server.url, "--key", "tsk_wrong")
    assert code == 2 and _error_line(stderr).startswith("error 10010001:")


def test_missing_key_exits_2_before_any_request() -> None:
    code, _, stderr = _run("balance", "--server", "http://127.0.0.1:9", env={
        "MESHSMITH_API_KEY": ""})
    assert code == 2 and "no API key" in _error_line(stderr)


def test_unknown_task_exits_2_with_code_10070001(server: Server, key: str) -> None:
    code, _, stderr = _run("tasks", "show", "nope", "--server", server.url, "--key", key)
    assert code == 2 and _error_line(stderr).startswith("error 10070001:")


def test_short_balance_exits_2_with_code_10040001(server: Server, tmp_path: Path) -> None:
    code, _, stderr = _run("submit", str(DUCK), "-o", str(tmp_path / "x.glb"), *FAST,
                           "--server", server.url, "--key", server.create_key(10))
    assert code == 2 and _error_line(stderr).startswith("error 10040001:")


def test_non_image_exits_2_with_the_servers_code(server: Server, key: str,
                                                 tmp_path: Path) -> None:
    bad = tmp_path / "notes.png"
    bad.write_text("not a picture")
    code, _, stderr = _run("submit", str(bad), "-o", str(tmp_path / "x.glb"),
                           "--server", server.url, "--key", key)
    assert code == 2 and _error_line(stderr).startswith("error 10031005:")


def test_failed_task_exits_1_with_its_error_code(server: Server, key: str,
                                                 tmp_path: Path) -> None:
    blank = tmp_path / "blank.png"
    from PIL import Image

    Image.new("RGB", (256, 256), (128, 128, 128)).save(blank)
    code, _, stderr = _run("submit", str(blank), "-o", str(tmp_path / "x.glb"), *FAST,
                           "--server", server.url, "--key", key)
    assert code == 1 and _error_line(stderr).startswith("error 10031007:")


def test_unreachable_server_exits_1_with_code_10080001(tmp_path: Path) -> None:
    code, _, stderr = _run("balance", "--server", f"http://127.0.0.1:{free_port()}",
                           "--key", "tsk_x")
    assert code == 1 and _error_line(stderr).startswith("error 10080001:")


def test_submit_passes_the_topology_options_to_the_server(server: Server, key: str,
                                                         tmp_path: Path) -> None:
    env = {"MESHSMITH_URL": server.url, "MESHSMITH_API_KEY": key}
    code, _, stderr = _run("submit", str(DUCK), "-o", str(tmp_path / "p.glb"), "--parts",
                           *FAST, env=env)  # parts need --no-texture: the server says so
    assert code == 2 and _error_line(stderr).startswith("error 10020001:")
    assert "geometry only" in stderr
    out = tmp_path / "low.glb"
    code, stdout, stderr = _run("submit", str(DUCK), "-o", str(out), "--smart-low-poly",
                                "--resolution", "512", "--faces", "1000",
                                "--texture-size", "512", "-q", env=env)
    assert code == 0, stderr
    assert "40 credits spent" in stdout and len(trimesh.load(out, force="mesh").faces) == 1000
