"""``python main.py bench startup``: how long a real launch of the app takes to show something, and how
long the process lingers after its window closes.

Each run starts ``main.py`` in a new process (the bundled demo, offscreen unless a display is named),
reads the milestones it writes to ``FRL_STUDIO_TRACE`` and closes the window on its first painted frame.
``--cold`` points numba at an empty cache, as on a first run after installing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from app.launch import QUIT_AFTER_FIRST_FRAME_ENV, TRACE_ENV

MAIN = Path(__file__).resolve().parent.parent / "main.py"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", type=int, default=2, help="launches to time (default 2)")
    parser.add_argument("--cold", action="store_true", help="an empty numba cache: the first run's compile")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds before a launch counts as hung")


def launch_once(cold: bool = False, timeout: float = 300.0) -> dict[str, float]:
    """Seconds from starting the process to each milestone, and ``exit_after_close``."""
    with tempfile.TemporaryDirectory() as tmp:
        trace_file = Path(tmp) / "trace.txt"
        env = dict(os.environ)
        env[TRACE_ENV] = str(trace_file)
        env[QUIT_AFTER_FIRST_FRAME_ENV] = "1"
        env.setdefault("QT_QPA_PLATFORM", "offscreen" if not env.get("DISPLAY") else env.get("QT_QPA_PLATFORM", ""))
        if not env["QT_QPA_PLATFORM"]:
            del env["QT_QPA_PLATFORM"]
        env["XDG_CONFIG_HOME"] = tmp  # the user's own settings stay untouched
        if cold:
            env["NUMBA_CACHE_DIR"] = str(Path(tmp) / "numba")
        start = time.time()
        proc = subprocess.run([sys.executable, str(MAIN)], env=env, timeout=timeout, capture_output=True, text=True)
        ended = time.time()
        marks: dict[str, float] = {}
        if trace_file.is_file():
            for line in trace_file.read_text().splitlines():
                name, _, stamp = line.partition(" ")
                marks.setdefault(name, float(stamp) - start)
        if proc.returncode != 0 or "close_requested" not in marks:
            raise RuntimeError(f"the app exited with {proc.returncode}: {proc.stderr.strip()[-400:]}")
        marks["exit_after_close"] = ended - start - marks["close_requested"]
        return marks


def run(args: argparse.Namespace) -> int:
    names = ("splash_painted", "models_ready", "window_shown", "first_frame", "exit_after_close")
    print(f"bench startup: {args.runs} launch(es) of the app on the demo clip"
          f"{' with an empty numba cache' if args.cold else ''} (seconds from process start)")
    print("  run  " + "  ".join(f"{n:>16}" for n in names))
    for i in range(args.runs):
        try:
            marks = launch_once(args.cold, args.timeout)
        except (RuntimeError, subprocess.TimeoutExpired) as err:
            print(f"bench startup: launch {i + 1} failed: {err}", file=sys.stderr)
            return 1
        print(f"  {i + 1:>3}  " + "  ".join(f"{marks.get(n, float('nan')):>16.2f}" for n in names))
    return 0
