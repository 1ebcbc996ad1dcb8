"""The one entry point: the GUI by default, every headless command otherwise (``python main.py --help``).

Each command lives in a module exposing ``add_arguments(parser)`` and ``run(args) -> int``; only the
module of the command being run is imported, so ``--help`` and a light command never load torch, and the
GUI (``app``) is imported from here alone: the core (``frl_core``) never reaches into it.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "analyze": ("frl_core.engine.cli", "spot and recognise micro-expressions in a video, frame folder or camera"),
    "recognize": ("frl_core.engine.cli_recognize", "label and probabilities of one onset/apex image pair"),
    "batch": ("frl_core.engine.batch", "analyse a corpus (videos, frame folders, globs, a manifest CSV) on local "
              "processes or Ray: a results folder per input, a corpus table, every event"),
    "train": ("frl_core.training.cli_train", "train FRL-DGT (LOSO protocols or all data) from a config file"),
    "train-dgm": ("frl_core.training.dgm_train", "train the DGM on known displacements of real faces"),
    "assemble-live": ("frl_core.training.live_path", "join a trained DGM and a flow-trained trunk into the "
                      "live-path checkpoint"),
    "evaluate": ("frl_core.training.cli_evaluate", "evaluate a checkpoint or a LOSO protocol; describe a checkpoint"),
    "bench": ("", "print speed and accuracy figures: model, pipeline, batch, ui, startup, dgm, clip, tracking, "
              "head-pose, live-path, recognizer"),
    "synth": ("frl_core.benchmarks.synth_cli", "generated face videos: the demo clip, the spotting and labelled benchmarks"),
    "recipe-cv": ("frl_core.training.recipe_cv", "a training recipe's subject-grouped k-fold cross-validation"),
    "nested-cv": ("frl_core.training.nested_cv", "choose among candidate recipes inside each outer fold: the accuracy "
                  "no test clip helped choose, beside the best candidate on the test clips"),
    "epoch-trace": ("frl_core.training.epoch_trace", "what choosing epochs on the test subject would report "
                    "(a measure of that protocol, never of the model)"),
    "megc-metric": ("frl_core.spotting.megc_metric", "the MEGC interval metric on the MDMD baseline's predictions"),
}
"""command -> (module with add_arguments / run, help)."""

BENCH: dict[str, tuple[str, str, str, str]] = {
    "model": ("frl_core.benchmarks.model", "parameters, FLOPs and latency of each FRL-DGT variant",
              "add_arguments", "run"),
    "pipeline": ("frl_core.benchmarks.pipeline", "decode vs full-engine frames per second, stage costs, memory",
                 "add_arguments", "run"),
    "batch": ("frl_core.benchmarks.batch", "corpus throughput on 1 vs 2 local workers and a local Ray; LOSO "
              "sequential vs --workers 2", "add_arguments", "run"),
    "ui": ("app.bench_ui", "GUI event-loop delay while analysing the demo clip", "add_arguments", "run"),
    "startup": ("app.bench_startup", "seconds from launch to splash, window and first frame; exit after close",
                "add_arguments", "run"),
    "dgm": ("frl_core.training.dgm_train", "DGM end-point error on held-out faces, agreement with TV-L1 on the "
            "real sequence, the composite's flow image", "add_bench_arguments", "run_bench"),
    "clip": ("frl_core.benchmarks.clip", "clip mode: apex error and labels of labelled micro-expressions cut as "
             "clips, the real CASME II sequence", "add_arguments", "run"),
    "tracking": ("frl_core.benchmarks.tracking", "alignment error of the tracked face against where it is, and "
                 "whether it depends on the frame tracking started on", "add_arguments", "run"),
    "head-pose": ("frl_core.benchmarks.head_pose", "head-pose error under known rotations (projected faces; a real "
                  "face rotated through the detector)", "add_arguments", "run"),
    "live-path": ("frl_core.training.live_path", "live path vs flow mode per LOSO fold, label flips under "
                  "landmark noise, the real sequence", "add_bench_arguments", "run_bench"),
    "recognizer": ("frl_core.benchmarks.recognizer", "the shipped live file per event and batched on the CPU and "
                   "a GPU (AMP and fp32), and whether the GPU shows the CPU's labels", "add_arguments", "run"),
}
"""bench target -> (module, help, its add-arguments function, its run function)."""

GUI_OPTIONS = ("--video", "--frames", "--camera")
"""Top-level options that take a value (the GUI's), skipped when looking for the command."""

REQUIRED_PACKAGES = frozenset({"torch", "numpy", "cv2", "dlib", "PySide6", "pyqtgraph", "tqdm",
                               "face_recognition_models", "openpyxl", "numba"})


def _positionals(argv: list[str]) -> list[str]:
    """The words of ``argv`` that are not options or option values: the command and, for bench, its target."""
    out, skip = [], False
    for word in argv:
        if skip:
            skip = False
        elif word in GUI_OPTIONS:
            skip = True
        elif not word.startswith("-"):
            out.append(word)
    return out


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser, with the arguments of the command (and bench target) named in ``argv`` only."""
    argv = sys.argv[1:] if argv is None else argv
    words = _positionals(argv)
    chosen = words[0] if words else None
    parser = argparse.ArgumentParser(
        prog="main.py",
        description="FRL-DGT micro-expression spotting and recognition. With no command, opens the GUI.",
    )
    parser.add_argument("--video", help="GUI: open this video file")
    parser.add_argument("--frames", help="GUI: open this folder of frames")
    parser.add_argument("--camera", type=int, help="GUI: open this camera index")
    sub = parser.add_subparsers(dest="command")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name != chosen:
            continue
        if name == "bench":
            target = words[1] if len(words) > 1 else None
            targets = p.add_subparsers(dest="target", required=True)
            for t, (t_module, t_help, add, _) in BENCH.items():
                tp = targets.add_parser(t, help=t_help, description=t_help)
                if t == target:
                    getattr(importlib.import_module(t_module), add)(tp)
        else:
            importlib.import_module(module).add_arguments(p)
    return parser


def parse_args(argv: list[str]) -> argparse.Namespace:
    return build_parser(argv).parse_args(argv)


def missing_package_message(error: ModuleNotFoundError) -> str | None:
    """One line naming the install command when a required package is absent, else None (a real bug)."""
    name = (error.name or "").split(".")[0]
    if name not in REQUIRED_PACKAGES:
        return None
    return (f"error: the package '{name}' is not installed for {sys.executable}; install the app's "
            "requirements first: python -m pip install -r requirements.txt")


def run(args: argparse.Namespace) -> int:
    """Run the parsed command (the GUI when there is none)."""
    if args.command is None:
        from app.launch import run_gui

        return run_gui(args)
    if args.command == "bench":
        module, _, _, run_name = BENCH[args.target]
        return int(getattr(importlib.import_module(module), run_name)(args) or 0)
    return int(importlib.import_module(COMMANDS[args.command][0]).run(args) or 0)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        return run(parse_args(argv))
    except KeyboardInterrupt:  # before a command could handle it (e.g. while torch loads)
        print("interrupted", file=sys.stderr)
        return 130
    except ModuleNotFoundError as error:
        message = missing_package_message(error)
        if message is None:
            raise
        print(message, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
