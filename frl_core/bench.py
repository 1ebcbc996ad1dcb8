"""``python main.py bench TARGET``: benchmark commands that print figures (never timed unit tests)."""

from __future__ import annotations

import argparse
import importlib

TARGETS: dict[str, tuple[str, ...]] = {
    "model": ("frl_core.models.benchmark", "parameters, FLOPs and latency of each FRL-DGT variant"),
    "pipeline": ("frl_core.engine.bench", "decode vs full-engine frames per second, stage costs, memory"),
    "ui": ("app.bench_ui", "GUI event-loop delay while analysing the demo clip"),
    "dgm": ("frl_core.training.dgm_train", "DGM end-point error on held-out faces, agreement with TV-L1 on the "
            "real sequence, the composite's flow image", "add_bench_arguments", "run_bench"),
    "live-path": ("frl_core.training.live_path", "live path vs flow mode per LOSO fold, label flips under "
                  "landmark noise, the real sequence", "add_bench_arguments", "run_bench"),
}
"""name -> (module, help[, its add-arguments function, its run function]; default add_arguments / run)."""


def _entry(name: str, index: int, default: str):
    spec = TARGETS[name]
    module = importlib.import_module(spec[0])
    return getattr(module, spec[index] if len(spec) > index else default)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="target", required=True)
    for name, spec in TARGETS.items():
        p = sub.add_parser(name, help=spec[1], description=spec[1])
        _entry(name, 2, "add_arguments")(p)


def run(args: argparse.Namespace) -> int:
    return int(_entry(args.target, 3, "run")(args) or 0)
