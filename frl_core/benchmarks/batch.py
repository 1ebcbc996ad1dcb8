"""``python main.py bench batch``: corpus throughput on 1 vs 2 local workers and on a local Ray, and LOSO wall
time sequential vs ``--workers 2``, with the machine's load beside the figures (a shared machine depresses them).

The corpus is generated (``frl_core.synth``: a face with micro-expressions, blinks and head motion), so the
figure needs no data; the LOSO part reads the MEGC2019 composite and is skipped without it.
"""

from __future__ import annotations

import argparse
import csv
import os
import tempfile
import time
from pathlib import Path
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--clips", type=int, default=8, help="generated clips in the corpus (default 8)")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each clip (default 10 s at 30 fps)")
    parser.add_argument("--size", default="320x240", help="frame size WxH (default 320x240)")
    parser.add_argument("--workers", type=int, default=2, help="the parallel runs' workers (default 2)")
    parser.add_argument("--no-ray", action="store_true", help="skip the local-Ray run")
    parser.add_argument("--no-corpus", action="store_true", help="skip the corpus runs (LOSO timing only)")
    parser.add_argument("--loso-subjects", default="sub01,s01,006,sub02",
                        help="held-out subjects of the LOSO timing (default: 4 folds from the three datasets)")
    parser.add_argument("--loso-epochs", type=int, default=2, help="epochs per fold of the LOSO timing (default 2)")
    parser.add_argument("--no-loso", action="store_true", help="skip the LOSO timing")
    parser.add_argument("--keep", type=Path, default=None, help="keep the clips and outputs in this folder")


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} CPUs"


def _corpus_run(inputs: list[str], out: Path, workers: int, ray: str | None) -> dict[str, Any]:
    from frl_core.engine import batch

    parser = argparse.ArgumentParser()
    batch.add_arguments(parser)
    argv = [*inputs, "--out", str(out), "--workers", str(workers), "--no-progress", "--device", "cpu"]
    if ray is not None:
        argv += ["--ray", ray]
    t0 = time.perf_counter()
    code = batch.run(parser.parse_args(argv), ray_init={"num_cpus": workers} if ray else None)
    wall = time.perf_counter() - t0
    with open(out / "corpus.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    busy = sum(float(r["seconds"] or 0) for r in rows)
    frames = sum(int(r["frames"] or 0) for r in rows)
    setups = [float(r["worker_setup_s"]) for r in rows if r.get("worker_setup_s")]
    return {"code": code, "wall": wall, "busy": busy, "frames": frames, "inputs": len(rows),
            "setup": sum(setups) / max(len(setups), 1),
            "events": sum(int(r["events"] or 0) for r in rows), "workers": workers}


def _loso_run(data_root: str, subjects: str, epochs: int, out: Path, workers: int) -> float:
    from frl_core.training import cli_train

    parser = argparse.ArgumentParser()
    cli_train.add_arguments(parser)
    argv = ["--config", "configs/megc2019_flow.toml", "--data-root", data_root, "--subjects", subjects,
            "--epochs", str(epochs), "--seeds", "1", "--set", "train.calibration_folds=0", "--out", str(out),
            "--no-progress"]
    if workers > 1:
        argv += ["--workers", str(workers)]
    t0 = time.perf_counter()
    code = cli_train.run(parser.parse_args(argv))
    if code != 0:
        raise RuntimeError(f"train exited {code}")
    return time.perf_counter() - t0


def _record(run_dir: Path, subject: str) -> dict[str, Any]:
    """A fold's record without its timing: what must be identical between a sequential and a parallel run."""
    import json

    record = json.loads((run_dir / "seed_1" / "folds" / f"{subject}.json").read_text())
    record.pop("train_seconds")
    return record


def run(args: argparse.Namespace) -> int:
    import contextlib
    import io

    from frl_core import synth
    from frl_core.paths import REPO_ROOT, default_data_root

    os.chdir(REPO_ROOT)
    if args.clips < 1 or not args.seconds >= 4 or args.workers < 1:
        print("error: give --clips >= 1, --seconds >= 4 and --workers >= 1")
        return 2
    width, height = (int(v) for v in args.size.lower().split("x"))
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench_batch_"))
    clips = root / "clips"
    clips.mkdir(parents=True, exist_ok=True)
    print(f"before: {_load()}")
    for k in range(0 if args.no_corpus else args.clips):
        path = clips / f"clip{k:02d}.mp4"
        if not path.is_file():
            seq = synth.random_sequence(seed=100 + k, fps=30.0, seconds=args.seconds,
                                        n_micro=min(3, int((args.seconds - 1.0) / 2.1)), size=(width, height))
            synth.write_video(seq, path)
    inputs = [str(p) for p in sorted(clips.glob("*.mp4"))]
    runs: list[tuple[str, dict[str, Any]]] = []
    plan = [] if args.no_corpus else [("1 process", 1, None), (f"{args.workers} local processes", args.workers, None)]
    if not args.no_ray and not args.no_corpus:
        plan.append((f"local Ray, {args.workers} actors", args.workers, "local"))
    for name, workers, ray in plan:
        out = root / f"out_{len(runs)}"
        with contextlib.redirect_stdout(io.StringIO()):
            figures = _corpus_run(inputs, out, workers, ray)
        runs.append((name, figures))
        print(f"  ran {name}: {figures['wall']:.1f} s; {_load()}", flush=True)
    n = len(inputs)
    if runs:
        print(f"\ncorpus: {n} generated clips of {args.seconds:g} s at 30 fps, {width}x{height}, recognition on (CPU)")
        print(f"{'backend':<24}{'wall s':>8}{'frames/s':>10}{'inputs/min':>12}{'speed-up':>10}{'overhead s/input':>18}"
              f"{'worker start s':>16}")
        base = runs[0][1]["wall"]
        for name, f in runs:
            overhead = (f["wall"] - f["busy"] / f["workers"]) / max(f["inputs"], 1)
            flag = "" if f["code"] == 0 else f"  (exit {f['code']})"
            print(f"{name:<24}{f['wall']:>8.1f}{f['frames'] / f['wall']:>10.0f}{60 * f['inputs'] / f['wall']:>12.1f}"
                  f"{base / f['wall']:>9.2f}x{overhead:>18.2f}{f['setup']:>16.2f}{flag}")
        print("overhead s/input = (wall - worker-busy seconds / workers) / inputs: start-up, dispatch, idle tail; "
              "worker start = imports and the model loaded, once per worker")
        busy1 = runs[0][1]["busy"] / max(runs[0][1]["inputs"], 1)
        print(f"one input analysed in {busy1:.2f} s on one process ({runs[0][1]['frames'] / runs[0][1]['busy']:.0f} "
              "frames/s of busy time)")
        if len(runs) > 2:
            extra = (runs[2][1]["wall"] - runs[1][1]["wall"]) / n
            print(f"Ray vs local processes: {extra:+.2f} s per input (Ray start-up and actor creation spread over {n} inputs)")
    if not args.no_loso:
        data_root = str(default_data_root())
        if not (Path(data_root) / "megc2019" / "labels.csv").is_file():
            print(f"LOSO timing skipped: no MEGC2019 composite at {data_root}")
        else:
            with contextlib.redirect_stdout(io.StringIO()):
                seq = _loso_run(data_root, args.loso_subjects, args.loso_epochs, root / "loso_seq", 1)
                par = _loso_run(data_root, args.loso_subjects, args.loso_epochs, root / "loso_par", args.workers)
            k = len(args.loso_subjects.split(","))
            print(f"\nLOSO, configs/megc2019_flow.toml, {k} folds x {args.loso_epochs} epochs, 1 seed, no calibration:")
            print(f"  sequential {seq:.1f} s, --workers {args.workers} {par:.1f} s, speed-up {seq / par:.2f}x")
            same = all(_record(root / "loso_seq", s) == _record(root / "loso_par", s) for s in args.loso_subjects.split(","))
            print(f"  fold records identical up to their timings: {same}")
    print(f"after: {_load()}")
    if args.keep is None:
        import shutil

        shutil.rmtree(root, ignore_errors=True)
    return 0
