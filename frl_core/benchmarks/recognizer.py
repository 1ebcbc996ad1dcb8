"""``python main.py bench recognizer``: the shipped live file as the app runs it, on the CPU and on a GPU.

Per event: registration, preprocessing, the DGM, the flow-image rendering and the trunk(s) with their
mirrored view, i.e. ``Recognizer.recognize`` on one onset/apex pair; batched: events per second when a
clip or a folder hands the recogniser many pairs at once. On a GPU the app runs under float16 autocast
(AMP); the bench also runs it in fp32 there and says how often either changes the label shown against the
CPU's, on the composite's semi-synthetic pairs (real apex faces, the clip's own motion): a GPU user must
see the labels a CPU user sees.
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", default=None, help="live-path checkpoint (default: the shipped one)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="auto: CPU, plus CUDA when torch sees a GPU")
    parser.add_argument("--pairs", type=int, default=442, help="semi-synthetic pairs from the composite (max 442)")
    parser.add_argument("--repeats", type=int, default=100, help="timed batch-1 events per figure")
    parser.add_argument("--batch", type=int, default=64, help="pairs per call for the batched figure")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    parser.add_argument("--data-root", default=None, help="research data root (default: ../shared/data)")
    parser.add_argument("--json", default=None, help="also write the figures to this file")


def composite_pairs(data_root: Path, count: int) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
    """The first ``count`` clips' (pseudo-onset, apex) pairs at 224 px and their labels."""
    from frl_core.data.megc2019 import Megc2019
    from frl_core.training.live_path import semi_synthetic_pair

    ds = Megc2019(data_root)
    n = min(count, len(ds))
    return [semi_synthetic_pair(ds.apexes[i], ds.flows[i]) for i in range(n)], ds.labels[:n]


def _per_event_ms(recognizer, pairs, repeats: int, sync) -> float:
    """Median of ``repeats`` one-pair calls, each on the next pair in turn (after five warm-up calls)."""
    from frl_core.benchmarks.model import median_ms

    turn = itertools.cycle(pairs)
    return median_ms(lambda: recognizer.recognize([next(turn)]), repeats, 5, sync)


def _events_per_s(recognizer, pairs, batch: int, sync) -> float:
    recognizer.max_batch = batch
    recognizer.recognize(pairs[:batch])
    sync()
    t0 = time.perf_counter()
    recognizer.recognize(pairs)
    sync()
    return len(pairs) / (time.perf_counter() - t0)


def verdicts(recognizer, pairs, batch: int = 64) -> tuple[np.ndarray, list[str]]:
    """Each pair's probabilities (in class order) and the label shown."""
    recognizer.max_batch = batch
    recs = recognizer.recognize(pairs)
    return np.array([[r.probabilities[c] for c in recognizer.class_names] for r in recs]), [r.label for r in recs]


def compare(reference: tuple[np.ndarray, list[str]], other: tuple[np.ndarray, list[str]]) -> dict[str, float]:
    """How far ``other``'s verdicts are from ``reference``'s: labels shown, top classes, probabilities."""
    p_ref, shown_ref = reference
    p, shown = other
    diff = np.abs(p - p_ref)
    return {"shown_same": float(np.mean([a == b for a, b in zip(shown_ref, shown)])),
            "top_same": float(np.mean(p_ref.argmax(1) == p.argmax(1))),
            "max_abs_dp": float(diff.max()), "mean_abs_dp": float(diff.mean())}


def run(args: argparse.Namespace) -> int:
    from frl_core.engine.analysis import EngineError, load_recognizer
    from frl_core.paths import default_data_root

    if args.device == "cuda" and not torch.cuda.is_available():
        print("error: --device cuda was asked for but torch sees no CUDA GPU on this machine", file=sys.stderr)
        return 2
    if min(args.pairs, args.repeats, args.batch) < 1 or (args.threads is not None and args.threads < 1):
        print("error: --pairs, --repeats, --batch and --threads must be at least 1", file=sys.stderr)
        return 2
    data_root = Path(args.data_root) if args.data_root else default_data_root()
    if not (data_root / "megc2019" / "labels.csv").is_file():
        print(f"error: the MEGC2019 composite was not found under {data_root} (pass --data-root)", file=sys.stderr)
        return 2
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    try:
        cpu = load_recognizer(args.checkpoint, "cpu")
    except EngineError as err:
        print(f"error: {err}", file=sys.stderr)
        return 4
    pairs, _ = composite_pairs(data_root, args.pairs)
    cuda = args.device != "cpu" and torch.cuda.is_available()
    members = int(cpu.model.config.ensemble_size)
    print(f"torch {torch.__version__}, CPU: {platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} CPU thread(s)" + (f", GPU: {torch.cuda.get_device_name(0)}" if cuda else ""))
    print(f"live file: {args.checkpoint or 'the shipped one'} ({members} trunk(s)), {len(pairs)} semi-synthetic "
          f"224 px pairs from the composite; per event = registration + DGM + rendering + trunks")
    no_sync = lambda: None  # noqa: E731
    figures: dict[str, object] = {"torch": torch.__version__, "pairs": len(pairs), "trunks": members}
    figures["cpu"] = {"per_event_ms": _per_event_ms(cpu, pairs, args.repeats, no_sync),
                      "events_per_s": _events_per_s(cpu, pairs, args.batch, no_sync)}
    reference = verdicts(cpu, pairs, args.batch)
    print(f"CPU fp32: per event {figures['cpu']['per_event_ms']:.2f} ms, batched ({args.batch}) "
          f"{figures['cpu']['events_per_s']:.0f} events/s")
    if cuda:
        figures["gpu"] = torch.cuda.get_device_name(0)
        gpu = load_recognizer(args.checkpoint, "cuda")
        sync = torch.cuda.synchronize
        for name, amp in (("gpu_amp", True), ("gpu_fp32", False)):
            gpu.use_amp = amp
            row = {"per_event_ms": _per_event_ms(gpu, pairs, args.repeats, sync),
                   "events_per_s": _events_per_s(gpu, pairs, args.batch, sync),
                   **compare(reference, verdicts(gpu, pairs, args.batch))}
            figures[name] = row
            print(f"GPU {'AMP (as the app runs it)' if amp else 'fp32'}: per event {row['per_event_ms']:.2f} ms, "
                  f"batched ({args.batch}) {row['events_per_s']:.0f} events/s; against the CPU: label shown "
                  f"same {row['shown_same']:.3f}, top class same {row['top_same']:.3f}, |dp| max "
                  f"{row['max_abs_dp']:.4f} mean {row['mean_abs_dp']:.5f}")
    else:
        print("no CUDA GPU: CPU figures only")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    return 0
