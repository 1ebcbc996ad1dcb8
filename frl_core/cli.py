"""The headless command line: ``python main.py SUBCOMMAND ...``.

Each subcommand lives in its own module exposing ``add_arguments(parser)`` and ``run(args) -> int``,
imported only when that subcommand runs so that ``--help`` and unrelated commands stay fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "analyze": ("frl_core.engine.cli", "spot and recognise micro-expressions in a video, frame folder or camera"),
    "train": ("frl_core.training.cli_train", "train FRL-DGT (LOSO protocols or all data) from a config file"),
    "train-dgm": ("frl_core.training.dgm_train", "train the DGM on known displacements of real faces"),
    "assemble-live": ("frl_core.training.live_path", "join a trained DGM and a flow-trained trunk into the "
                      "live-path checkpoint"),
    "evaluate": ("frl_core.training.cli_evaluate", "evaluate a checkpoint or a LOSO protocol; describe a checkpoint"),
    "bench": ("frl_core.bench", "print speed/accuracy figures: model, pipeline, ui"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="main.py",
        description="FRL-DGT micro-expression spotting and recognition. With no subcommand, opens the GUI.",
    )
    parser.add_argument("--video", help="GUI: open this video file")
    parser.add_argument("--frames", help="GUI: open this folder of frames")
    parser.add_argument("--camera", type=int, help="GUI: open this camera index")
    sub = parser.add_subparsers(dest="command")
    for name, (module, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        importlib.import_module(module).add_arguments(p)
    return parser


REQUIRED_PACKAGES = frozenset({"torch", "numpy", "cv2", "dlib", "PySide6", "pyqtgraph", "tqdm",
                               "face_recognition_models", "openpyxl"})


def missing_package_message(error: ModuleNotFoundError) -> str | None:
    """One line naming the install command when a required package is absent, else None (a real bug)."""
    name = (error.name or "").split(".")[0]
    if name not in REQUIRED_PACKAGES:
        return None
    return (f"error: the package '{name}' is not installed for {sys.executable}; install the app's "
            "requirements first: python -m pip install -r requirements.txt")


def main(argv: list[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            from app.main_window import run_gui

            return run_gui(args)
        module = importlib.import_module(SUBCOMMANDS[args.command][0])
        return int(module.run(args) or 0)
    except ModuleNotFoundError as error:
        message = missing_package_message(error)
        if message is None:
            raise
        print(message, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
