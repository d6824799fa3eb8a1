"""Load the HTTP API on loopback with wrk: /healthz, status polls and task creation.

    python benchmarks/bench_api.py [--duration 10] [--workers 2] [--port 0] [--json PATH]

ONE ``meshsmith serve`` in a fresh data directory answers every phase. The polled task is
created first and run to ``success``, so every poll phase reads the same finished task.
Idle (no task queued or running): ``GET /healthz`` and ``GET /v1/tasks/{id}``. Then
generation is started in the background (tasks queued until every worker process runs
one), and with it running:
``POST /v1/tasks`` (each request queues a real task, so the backlog only grows), then
``/healthz`` and the polls again. wrk runs ``-t 2 -c 10 --latency`` on the same machine.

Targets, judged on the with-generation figures: polls >= 50% of /healthz requests per
second, and create p99 <= 100 ms. A run where the server answered anything but 2xx, or
where no task was running during a with-generation phase, is reported as invalid.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
POST_LUA = ROOT / "benchmarks" / "wrk" / "post_json.lua"
DUCK = ROOT / "examples" / "duck.png"
DEFAULT_JSON = ROOT / "benchmarks" / "results" / "api.json"
THREADS, CONNECTIONS = 2, 10
POLL_RATIO_TARGET, CREATE_P99_TARGET_MS = 0.5, 100.0
TERMINAL = {"success", "failed", "cancelled", "expired"}
#: phase -> (method and route template as /metrics labels it, its URL path)
ROUTES = {"healthz": ("GET /healthz", "/healthz"),
          "poll": ("GET /v1/tasks/{task_id}", "/v1/tasks/{task_id}"),
          "create": ("POST /v1/tasks", "/v1/tasks")}
WRK_HINT = "wrk is not installed; on Debian/Ubuntu: sudo apt-get install -y wrk"


@dataclass
class Phase:
    """One wrk run and what the server said about it."""

    name: str
    condition: str  # "idle" or "generating"
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    wrk_non_2xx_3xx: int
    socket_errors: dict[str, int]
    statuses: dict[str, int] = field(default_factory=dict)  # this route's, from /metrics
    running: tuple[int, int] = (0, 0)  # min and max tasks running, sampled during the run
    queued_after: int = 0


@dataclass
class Server:
    base: str
    key: str
    token: str = ""
    task_id: str = ""


# --- wrk -----------------------------------------------------------------------------------

def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        sys.exit(WRK_HINT)
    return path


def run_wrk(url: str, duration: int, options: list[str], script_args: list[str]) -> str:
    """wrk's full text output for one run (script arguments go after the URL)."""
    cmd = [require_wrk(), f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{duration}s", "--latency",
           "--timeout", "10s", *options, url]
    cmd += ["--", *script_args] if script_args else []
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


_UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text).groups()  # type: ignore[union-attr]
    return float(value) * _UNITS_MS[unit]


def parse_wrk(out: str) -> dict[str, Any]:
    """Requests/sec, p50 and p99 (ms), request count, non-2xx/3xx and socket errors."""
    def find(pattern: str, default: str = "0") -> str:
        m = re.search(pattern, out, re.M)
        return m.group(1) if m else default

    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       out)
    names = ("connect", "read", "write", "timeout")
    return {"rps": float(find(r"^Requests/sec:\s+([\d.]+)")),
            "p50_ms": _ms(find(r"^\s+50%\s+(\S+)", "0ms")),
            "p99_ms": _ms(find(r"^\s+99%\s+(\S+)", "0ms")),
            "requests": int(find(r"^\s+(\d+) requests in")),
            "wrk_non_2xx_3xx": int(find(r"Non-2xx or 3xx responses: (\d+)")),
            "socket_errors": dict(zip(names, map(int, errors.groups()), strict=True))
            if errors else dict.fromkeys(names, 0)}


# --- the server ----------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "meshsmith.cli", *args]


def create_key(data_dir: Path) -> str:
    """A key with limits far above anything the benchmark reaches; the last stdout line."""
    proc = subprocess.run(cli("keys", "create", "--data-dir", str(data_dir), "--name", "bench",
                              "--credits", "100000000", "--max-concurrency", "1000000",
                              "--rate-limit", "100000000"),
                          capture_output=True, text=True, check=True)
    return proc.stdout.strip().splitlines()[-1].strip()


@contextmanager
def serve(data_dir: Path, port: int, workers: int, log: IO[bytes]
          ) -> Iterator[subprocess.Popen[bytes]]:
    """``meshsmith serve`` in its own session; the whole process group is killed after."""
    proc = subprocess.Popen(cli("serve", "--data-dir", str(data_dir), "--port", str(port),
                                "--workers", str(workers)),
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        stop_group(proc)


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the group, give it 5 s, then SIGKILL whatever is left (workers included)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            continue


def wait_healthy(client: httpx.Client, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"the server exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if client.get("/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    sys.exit(f"the server did not answer /healthz within 60 s:\n{log.read_text()[-3000:]}")


# --- API helpers ---------------------------------------------------------------------------

def task_body(token: str, texture: bool | None) -> dict[str, Any]:
    body: dict[str, Any] = {"views": {"front": token}, "resolution": "512", "faces": 100_000}
    return body if texture is None else body | {"texture": texture}


def upload(client: httpx.Client) -> str:
    with DUCK.open("rb") as f:
        r = client.post("/v1/uploads", files={"file": ("duck.png", f, "image/png")})
    r.raise_for_status()
    return str(r.json()["file_token"])


def create(client: httpx.Client, body: dict[str, Any]) -> str:
    r = client.post("/v1/tasks", json=body)
    r.raise_for_status()
    return str(r.json()["task_id"])


def wait_terminal(client: httpx.Client, task_id: str, timeout: float = 300) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = str(client.get(f"/v1/tasks/{task_id}").json()["status"])
        if status in TERMINAL:
            return status
        time.sleep(0.5)
    sys.exit(f"task {task_id} did not finish within {timeout:.0f} s")


_TASKS = re.compile(r'^meshsmith_tasks\{status="(\w+)"\} ([\d.e+]+)$', re.M)
_REQS = re.compile(r'^meshsmith_http_requests_total\{method="(\w+)",route="([^"]*)",'
                   r'status="(\d+)"\} ([\d.e+]+)$', re.M)


def task_counts(client: httpx.Client) -> dict[str, int]:
    text = client.get("/metrics").text
    return {status: int(float(n)) for status, n in _TASKS.findall(text)}


def request_counts(client: httpx.Client) -> dict[str, int]:
    """Server-side request counts keyed ``METHOD route status``."""
    text = client.get("/metrics").text
    return {f"{m} {route} {s}": int(float(n)) for m, route, s, n in _REQS.findall(text)}


def wait_running(client: httpx.Client, n: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while task_counts(client).get("running", 0) < n:
        if time.monotonic() > deadline:
            sys.exit(f"fewer than {n} task(s) running after {timeout:.0f} s")
        time.sleep(0.5)


class RunningSampler:
    """Samples the number of running tasks once a second from another thread."""

    def __init__(self, base: str) -> None:
        self._client = httpx.Client(base_url=base, timeout=30)
        self._stop = threading.Event()
        self.samples: list[int] = []
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.samples.append(task_counts(self._client).get("running", 0))
            self._stop.wait(1.0)

    def __enter__(self) -> RunningSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._client.close()


# --- phases --------------------------------------------------------------------------------

def phase(client: httpx.Client, srv: Server, name: str, condition: str, duration: int
          ) -> Phase:
    """Run one wrk phase, with the server's own status counts and running-task samples."""
    before = request_counts(client)
    with RunningSampler(srv.base) as sampler:
        out = run_wrk(f"{srv.base}{_path(srv, name)}", duration, *_wrk_args(srv, name))
    after = request_counts(client)
    statuses = {k.split()[-1]: after[k] - before.get(k, 0) for k in after
                if k.rsplit(" ", 1)[0] == ROUTES[name][0] and after[k] != before.get(k, 0)}
    running = (min(sampler.samples, default=0), max(sampler.samples, default=0))
    queued = task_counts(client).get("queued", 0)
    return Phase(name=name, condition=condition, **parse_wrk(out), statuses=statuses,
                 running=running, queued_after=queued)


def _path(srv: Server, name: str) -> str:
    return ROUTES[name][1].format(task_id=srv.task_id)


def _wrk_args(srv: Server, name: str) -> tuple[list[str], list[str]]:
    """(wrk options, Lua script arguments) for one phase."""
    if name == "poll":
        return ["-H", f"Authorization: Bearer {srv.key}"], []
    if name == "create":
        body = json.dumps(task_body(srv.token, texture=False))
        return ["-s", str(POST_LUA)], [srv.key, body]
    return [], []


def start_generation(client: httpx.Client, srv: Server, workers: int) -> None:
    """Queue two tasks per worker and wait until every worker process is running one."""
    for _ in range(2 * workers):
        create(client, task_body(srv.token, texture=False))
    wait_running(client, workers)


def run_all(client: httpx.Client, srv: Server, duration: int, workers: int) -> list[Phase]:
    srv.token = upload(client)
    srv.task_id = create(client, task_body(srv.token, texture=None))
    print(f"poll target task {srv.task_id}: {wait_terminal(client, srv.task_id)}", flush=True)
    phases = [phase(client, srv, "healthz", "idle", duration),
              phase(client, srv, "poll", "idle", duration)]
    start_generation(client, srv, workers)
    for name in ("create", "healthz", "poll"):
        phases.append(phase(client, srv, name, "generating", duration))
    return phases


# --- report --------------------------------------------------------------------------------

def judge(phases: list[Phase]) -> dict[str, Any]:
    """Both targets, on the with-generation figures, and whether the run is valid."""
    gen = {p.name: p for p in phases if p.condition == "generating"}
    ratio = gen["poll"].rps / gen["healthz"].rps if gen["healthz"].rps else 0.0
    p99 = gen["create"].p99_ms
    problems = [f"{p.condition} {p.name}: {_bad(p)}" for p in phases if _bad(p)]
    problems += [f"generating {p.name}: no task was running at some sample (min 0)"
                 for p in gen.values() if p.running[0] == 0]
    return {"poll_to_healthz_ratio": round(ratio, 3), "poll_target": POLL_RATIO_TARGET,
            "poll_pass": ratio >= POLL_RATIO_TARGET, "create_p99_ms": p99,
            "create_p99_target_ms": CREATE_P99_TARGET_MS,
            "create_pass": p99 <= CREATE_P99_TARGET_MS, "valid": not problems,
            "problems": problems}


def _bad(p: Phase) -> str:
    non_ok = {k: n for k, n in p.statuses.items() if not k.startswith("2")}
    errors = {k: n for k, n in p.socket_errors.items() if n}
    refused = " (429/402: the key's limits refused requests)" if {"429", "402"} & set(non_ok) \
        else ""
    parts = [f"non-2xx {non_ok}{refused}" if non_ok else "",
             f"wrk non-2xx/3xx {p.wrk_non_2xx_3xx}" if p.wrk_non_2xx_3xx else "",
             f"socket errors {errors}" if errors else ""]
    return "; ".join(x for x in parts if x)


def print_table(phases: list[Phase]) -> None:
    print("| request | condition | req/s | p50 (ms) | p99 (ms) | requests | wrk non-2xx/3xx "
          "| running (min-max) | server statuses |")
    print("|---|---|---|---|---|---|---|---|---|")
    for p in phases:
        codes = ", ".join(f"{k}: {n:,}" for k, n in sorted(p.statuses.items()))
        print(f"| {_label(p.name)} | {p.condition} | {p.rps:,.0f} | {p.p50_ms:.1f} | "
              f"{p.p99_ms:.1f} | {p.requests:,} | {p.wrk_non_2xx_3xx} | "
              f"{p.running[0]}-{p.running[1]} | {codes} |")


def _label(name: str) -> str:
    return ROUTES[name][0]


def print_verdict(v: dict[str, Any]) -> None:
    print(f"status polls / healthz (with generation): {v['poll_to_healthz_ratio']:.2f} "
          f"(target >= {POLL_RATIO_TARGET:.2f}): {'PASS' if v['poll_pass'] else 'FAIL'}")
    print(f"POST /v1/tasks p99 (with generation): {v['create_p99_ms']:.1f} ms "
          f"(target <= {CREATE_P99_TARGET_MS:.0f} ms): {'PASS' if v['create_pass'] else 'FAIL'}")
    for problem in v["problems"]:
        print(f"INVALID RUN: {problem}")


def machine() -> dict[str, Any]:
    model = platform.processor() or "unknown"
    if shutil.which("lscpu"):
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        found = re.search(r"^Model name:\s+(.+)$", out, re.M)
        model = found.group(1).strip() if found else model
    return {"cpus": os.cpu_count(), "cpu_model": model, "arch": platform.machine(),
            "python": platform.python_version(), "wrk": _wrk_version(),
            "cpu_idle_pct_before": cpu_idle_pct()}


def cpu_idle_pct(seconds: float = 2.0) -> float | None:
    """How idle the CPUs were over a short sample, from /proc/stat (None off Linux)."""
    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split()[1:9]]
        return fields[3] + fields[4], sum(fields)

    if not Path("/proc/stat").exists():
        return None
    idle0, total0 = sample()
    time.sleep(seconds)
    idle1, total1 = sample()
    return round(100 * (idle1 - idle0) / max(1, total1 - total0), 1)


def git_state() -> str:
    """HEAD and whether src/ has uncommitted changes (the code measured)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True,
                              text=True).stdout.strip()

    dirty = " + uncommitted changes in src/" if git("status", "--porcelain", "src") else ""
    return f"{git('rev-parse', '--short', 'HEAD')}{dirty}"


def _wrk_version() -> str:
    out = subprocess.run([require_wrk(), "-v"], capture_output=True, text=True)
    return (out.stdout + out.stderr).strip().splitlines()[0]


def write_json(path: Path, args: argparse.Namespace, m: dict[str, Any], phases: list[Phase],
               verdict: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": m,
           "code": git_state(),
           "command": " ".join(["python", "benchmarks/bench_api.py", *sys.argv[1:]]),
           "duration_s": args.duration, "workers": args.workers, "threads": THREADS,
           "connections": CONNECTIONS, "phases": [asdict(p) for p in phases],
           "verdict": verdict}
    path.write_text(json.dumps(doc, indent=2) + "\n")


# --- main ----------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write")
    args = parser.parse_args()
    require_wrk()
    m = machine()
    print(f"machine: {m['arch']}, {m['cpus']} cores, {m['cpu_model']}, Python {m['python']}, "
          f"CPU idle before the run {m['cpu_idle_pct_before']}%; code {git_state()}")
    if (m["cpu_idle_pct_before"] or 100) < 90:
        print("warning: the machine is busy; wrk, the server and its workers share it")
    with tempfile.TemporaryDirectory(prefix="meshsmith-bench-") as tmp:
        phases = run_server(Path(tmp), args)
    print_table(phases)
    verdict = judge(phases)
    print_verdict(verdict)
    write_json(args.json, args, m, phases, verdict)
    print(f"wrote {args.json}")


def run_server(tmp: Path, args: argparse.Namespace) -> list[Phase]:
    data, log_path = tmp / "data", tmp / "serve.log"
    port = args.port or free_port()
    srv = Server(base=f"http://127.0.0.1:{port}", key=create_key(data))
    headers = {"Authorization": f"Bearer {srv.key}"}
    with log_path.open("wb") as log, serve(data, port, args.workers, log) as proc, \
            httpx.Client(base_url=srv.base, headers=headers, timeout=30) as client:
        wait_healthy(client, proc, log_path)
        return run_all(client, srv, args.duration, args.workers)


if __name__ == "__main__":
    main()
