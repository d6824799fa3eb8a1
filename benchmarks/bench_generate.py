"""Time `meshsmith generate` at each resolution on the examples; record wall time and peak RSS.

    python benchmarks/bench_generate.py [--resolutions 512 1024 1536] [--markdown]

Each case runs in a fresh process (the real CLI), so peak RSS is that process's own.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
CASES = {
    "duck (1 view)": [EXAMPLES / "duck.png"],
    "robot (4 views)": [EXAMPLES / "robot" / f"{s}.png"
                        for s in ("front", "back", "left", "right")],
}
FACES = {"512": 500_000, "1024": 1_000_000, "1536": 2_000_000}


def run_case(images: list[Path], resolution: str, out: Path) -> tuple[float, float, int]:
    """Run one generation; returns (wall seconds, peak RSS in GiB, exit code)."""
    cmd = [sys.executable, "-m", "meshsmith.cli", "generate", *map(str, images), "-o", str(out),
           "--resolution", resolution, "-q"]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024 / 1024, proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--resolutions", nargs="+", default=["512", "1024", "1536"])
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}")
    print("| case | resolution | faces | wall (s) | peak RSS (GiB) |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, images in CASES.items():
            for res in args.resolutions:
                wall, rss, code = run_case(images, res, Path(tmp) / "out.glb")
                status = "" if code == 0 else f" (exit {code})"
                print(f"| {name} | {res} | {FACES[res]:,} | {wall:.1f}{status} | {rss:.2f} |",
                      flush=True)


if __name__ == "__main__":
    main()
