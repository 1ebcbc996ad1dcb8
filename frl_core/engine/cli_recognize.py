"""``python main.py recognize ONSET_IMAGE APEX_IMAGE``: the label and probabilities of one onset/apex pair.

The two images may be whole frames or face crops: the face is found, aligned and the apex registered onto
the onset, exactly as for an event the spotter finds. Exit codes as ``analyze``: 2 bad input, 3 no face,
4 unusable weights, 5 cannot write ``--out``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from frl_core.engine.cli import EXIT_BAD_INPUT, EXIT_BAD_WEIGHTS, EXIT_CANNOT_WRITE, EXIT_NO_FACE, _fail


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = "exit codes: 0 done, 2 bad input, 3 no face found, 4 unusable weights, 5 cannot write --out"
    parser.add_argument("onset", type=Path, metavar="ONSET_IMAGE", help="the neutral (onset) face image")
    parser.add_argument("apex", type=Path, metavar="APEX_IMAGE", help="the apex face image")
    parser.add_argument("--weights", type=Path, default=None,
                        help="recogniser checkpoint (default: the shipped assets/weights)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--whole-frame", action="store_true",
                        help="use the whole image as the face when none is detected (face crops)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--out", type=Path, default=None, metavar="FILE", help="also write the result as JSON here")


def _image(path: Path):
    import cv2

    from frl_core.io.sources import IMAGE_EXTENSIONS

    if not path.is_file():
        raise ValueError(f"no such image: {path}")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR) if path.suffix.lower() in IMAGE_EXTENSIONS else None
    if image is None:
        raise ValueError(f"cannot read image {path}: not an image OpenCV can decode")
    return image


def run(args: argparse.Namespace) -> int:
    from frl_core.engine.analysis import EngineConfig, EngineError, load_recognizer
    from frl_core.engine.clip import ClipAnalyzer, ClipError
    from frl_core.faces import FaceConfig
    from frl_core.io.exports import event_record
    from frl_core.paths import MissingModelFileError

    try:
        frames = [_image(args.onset), _image(args.apex)]
    except ValueError as err:
        return _fail(EXIT_BAD_INPUT, str(err))
    try:
        recognizer = load_recognizer(args.weights, args.device)
    except EngineError as err:
        return _fail(EXIT_BAD_INPUT if err.reason == "device" else EXIT_BAD_WEIGHTS, str(err))
    config = EngineConfig(face=FaceConfig(whole_frame_fallback=args.whole_frame), device=args.device)
    try:
        result = ClipAnalyzer(config, recognizer).analyse(frames, config.fps, onset=0, apex=1, offset=1)
    except ClipError as err:
        hint = "" if args.whole_frame else " (for face crops try --whole-frame)"
        return _fail(EXIT_NO_FACE if err.reason == "no_face" else EXIT_BAD_INPUT,
                     f"{err}{hint if err.reason == 'no_face' else ''}")
    except MissingModelFileError as err:
        return _fail(1, str(err))
    if result.recognition_error is not None:
        return _fail(EXIT_BAD_INPUT, str(result.recognition_error))
    event = result.event
    record = event_record(event)
    doc = {"onset_image": str(args.onset), "apex_image": str(args.apex), "label": event.label,
           "top_class": event.top_class, "probabilities": record["probabilities"],
           "region_magnitude": record["region_magnitude"], "head_motion": record["head_motion"],
           "weights": str(args.weights) if args.weights else "shipped default"}
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        print(f"{event.label_text()}: " + ", ".join(f"{k} {v:.3f}" for k, v in event.probabilities.items()))
    if args.out is not None:
        try:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(doc, indent=2))
        except OSError as err:
            return _fail(EXIT_CANNOT_WRITE, f"cannot write {args.out}: {err.strerror or err}")
    return 0
