"""``python main.py bench TARGET``: benchmark commands that print figures (never timed unit tests)."""

from __future__ import annotations

import argparse
import importlib

TARGETS: dict[str, tuple[str, str]] = {
    "model": ("frl_core.models.benchmark", "parameters, FLOPs and latency of each FRL-DGT variant"),
    "pipeline": ("frl_core.engine_bench", "decode vs full-engine frames per second, stage costs, memory"),
    "ui": ("app.bench_ui", "GUI event-loop delay while analysing the demo clip"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="target", required=True)
    for name, (module, help_text) in TARGETS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        importlib.import_module(module).add_arguments(p)


def run(args: argparse.Namespace) -> int:
    return int(importlib.import_module(TARGETS[args.target][0]).run(args) or 0)
