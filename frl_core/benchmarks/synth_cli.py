"""``python main.py synth demo | bench | cost``: the demo clip, and the spotting and labelled benchmarks."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from frl_core.benchmarks.generated import benchmark_faces, evaluate_recognition, evaluate_spotting, measure_costs
from frl_core.faces.action_units import MOVEMENT_SETS
from frl_core.synth.labelled import CODECS, ffmpeg_executable, labelled_sequence
from frl_core.synth.render import DEMO_DIR, SynthError, random_sequence, write_demo


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="synth_command", required=True)
    demo = sub.add_parser("demo", help="regenerate assets/demo/demo.mp4 and its ground truth")
    demo.add_argument("--out", type=Path, default=DEMO_DIR)
    bench = sub.add_parser("bench", help="spotting F1 and apex error on generated sequences")
    bench.add_argument("--sequences", type=int, default=10)
    bench.add_argument("--seconds", type=float, default=20.0)
    bench.add_argument("--fps", type=float, default=30.0)
    bench.add_argument("--seed", type=int, default=100)
    bench.add_argument("--macro", type=int, default=0, help="macro-expressions per sequence")
    bench.add_argument("--labelled", action="store_true",
                       help="the labelled real-face benchmark: AU movements of known class on several faces, "
                            "encoded, analysed with recognition (spotting, labels, strongest AU region)")
    bench.add_argument("--faces", type=int, default=5, help="--labelled: how many faces (astronaut + composite)")
    bench.add_argument("--codec", default="both",
                       help=f"--labelled: encodings, comma-separated, of {', '.join(CODECS)}; 'both' is mp4v,h264 "
                            "(all but mp4v need ffmpeg; 'both' skips H.264 without it)")
    bench.add_argument("--crf", type=int, default=None,
                       help="--labelled: the ffmpeg encoders' quality (-crf; -q:v for mjpeg) instead of their default")
    bench.add_argument("--weights", default=None, help="--labelled: checkpoint (default: the shipped one)")
    bench.add_argument("--events", type=int, default=4, help="--labelled: events per sequence")
    bench.add_argument("--face-scale", type=float, default=1.0,
                       help="--labelled: faces this many times their usual size in the 640x480 frame (0.5: a "
                            "person twice as far from the camera; amplitudes stay in pixels of the aligned face)")
    bench.add_argument("--frame-size", default="640x480",
                       help="--labelled: the video's WIDTHxHEIGHT (1280x720: the same scene as a 720p webcam sees "
                            "it, the face and the head's drift scaled with the height)")
    bench.add_argument("--noise", type=float, default=1.0,
                       help="--labelled: sensor noise this many times the usual 1.5-3 grey levels (3: a dim webcam)")
    bench.add_argument("--movements", choices=MOVEMENT_SETS, default="textbook",
                       help="--labelled: the textbook action-unit movements, or 'varied': those, four more "
                            "combinations a varied bank is taught (AU6+12, AU1+2+26, AU4+7, AU10) and four no bank "
                            "holds (AU12+25, AU1+2+5, AU24, AU20), each shaped differently (width, sides, direction)")
    bench.add_argument("--exposure-steps", type=int, default=0,
                       help="--labelled: a webcam's automatic exposure: this many steps of the gain a sequence, each "
                            "over 4 frames to 0.83-1.2 of the first")
    bench.add_argument("--head-turn", type=float, default=0.0, metavar="DEG",
                       help="--labelled: the head also turns in depth, yaw and pitch up to this many degrees (each "
                            "a slow sinusoid; rendered as the parallax of a face 0.75-1.25 times the generic depth)")
    sub.add_parser("cost", help="milliseconds per frame of each face and spotting stage at 640x480")


def run(args: argparse.Namespace) -> int:
    try:
        if args.synth_command == "cost":
            for name, (wall, cpu) in measure_costs().items():
                print(f"{name:66s} {wall:7.2f} ms wall {cpu:7.2f} ms CPU")
            return 0
        if args.synth_command == "demo":
            video, truth = write_demo(args.out)
            print(f"wrote {video} and {truth}")
            return 0
        if args.sequences < 1 or not args.seconds > 0 or not args.fps > 0:
            raise SynthError("--sequences must be at least 1, --seconds and --fps positive")
        if args.labelled:
            return _labelled_bench(args)
        seqs = [random_sequence(args.seed + k, fps=args.fps, seconds=args.seconds, n_macro=args.macro)
                for k in range(args.sequences)]
        rep = evaluate_spotting(seqs)
    except SynthError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{rep.sequences} sequences at {args.fps:g} fps: {rep.ground_truth} events, {rep.spotted} spotted, "
          f"{rep.true_positives} true positives")
    print(f"precision {rep.precision:.3f}  recall {rep.recall:.3f}  F1 {rep.f1:.3f}  "
          f"median apex error {rep.median_apex_error:.1f} frames")
    print("ms per frame: " + ", ".join(f"{k} {v:.2f}" for k, v in rep.ms_per_frame.items()))
    for line in rep.misses:
        print("  " + line)
    return 0


def _labelled_bench(args: argparse.Namespace) -> int:
    import tempfile

    from frl_core.engine import EngineError
    from frl_core.paths import default_data_root

    codecs = ["mp4v", "h264"] if args.codec == "both" else [c.strip() for c in args.codec.split(",") if c.strip()]
    unknown = [c for c in codecs if c not in CODECS]
    if unknown or not codecs:
        raise SynthError(f"unknown codec {', '.join(unknown) or repr(args.codec)}: use one or more of {', '.join(CODECS)}")
    has_ffmpeg = ffmpeg_executable() is not None
    if args.codec == "both" and not has_ffmpeg:
        codecs = ["mp4v"]
        print("ffmpeg not found: H.264 skipped")
    if not has_ffmpeg and any(c != "mp4v" for c in codecs):
        raise SynthError(f"{', '.join(c for c in codecs if c != 'mp4v')} need ffmpeg "
                         "(on the PATH, or `pip install imageio-ffmpeg`)")
    if not 0.2 <= args.face_scale <= 1.5:
        raise SynthError(f"--face-scale must lie in 0.2..1.5, got {args.face_scale:g}")
    size = _frame_size(args.frame_size)
    if not 0.0 <= args.noise <= 10.0:
        raise SynthError(f"--noise must lie in 0..10, got {args.noise:g}")
    if not 0 <= args.exposure_steps <= 20:
        raise SynthError(f"--exposure-steps must lie in 0..20, got {args.exposure_steps}")
    if not 0.0 <= args.head_turn <= 20.0:
        raise SynthError(f"--head-turn must lie in 0..20 degrees, got {args.head_turn:g}")
    faces = benchmark_faces(default_data_root(), args.faces)
    per_face = max(1, args.sequences // len(faces))
    seqs = [(name, labelled_sequence(img, args.seed + 1000 * f + k, fps=args.fps, seconds=args.seconds,
                                     n_events=args.events,
                                     face_height=(0.9 if name == "astronaut" else 0.55) * args.face_scale, size=size,
                                     noise_scale=args.noise, exposure_steps=args.exposure_steps,
                                     movements=args.movements, head_turn_deg=args.head_turn))
            for f, (name, img) in enumerate(faces) for k in range(per_face)]
    noise = "" if args.noise == 1.0 else f", sensor noise x{args.noise:g}"
    if args.exposure_steps:
        noise += f", {args.exposure_steps} exposure steps a sequence"
    if args.head_turn:
        noise += f", head turning in depth up to {args.head_turn:g} degrees"
    if args.movements == "varied":
        noise += ", varied movements (more action units, held-out ones, each shaped differently)"
    print(f"{len(seqs)} sequences at {size[0]}x{size[1]}{noise} ({len(faces)} faces: {', '.join(n for n, _ in faces)}), "
          f"{sum(len(s.events) for _, s in seqs)} labelled micro-expressions, amplitudes 0.5-3 px of the aligned face")
    with tempfile.TemporaryDirectory() as tmp:
        for codec in codecs:
            try:
                crf = None if codec == "mp4v" else args.crf
                rep = evaluate_recognition(seqs, codec, Path(tmp), weights=args.weights, crf=crf)
            except EngineError as err:
                print(f"error: {err}", file=sys.stderr)
                return 4
            errs = rep.apex_errors
            tag = codec if crf is None else f"{codec} crf {crf}"
            print(f"[{tag}] spotting: {rep.ground_truth} events, {rep.spotted} spotted, {rep.true_positives} "
                  f"true positives, F1 {rep.f1:.3f}, median apex error {np.median(errs) if errs else float('nan'):.1f} frames")
            print(f"[{tag}] recognition of the spotted: label accuracy {rep.label_accuracy:.3f} "
                  f"({rep.label_correct}/{rep.true_positives}; {rep.label_uncertain} uncertain), strongest AU region "
                  f"right {rep.region_accuracy:.3f}")
            print(f"[{tag}] by class (spotted, right): " + ", ".join(f"{c} {v[0]}/{v[1]}" for c, v in rep.by_class.items()))
            print(f"[{tag}] recognition from the true onset and apex frames: label accuracy "
                  f"{rep.truth_label_accuracy:.3f} ({rep.truth_label_correct}/{rep.truth_pairs}; {rep.truth_uncertain} "
                  f"uncertain), strongest AU region right {rep.truth_region_accuracy:.3f}; by class (events, right): "
                  + ", ".join(f"{c} {v[0]}/{v[1]}" for c, v in rep.truth_by_class.items()))
            print(f"[{tag}] by amplitude px (events, spotted, right): "
                  + ", ".join(f"{k} {v[0]}/{v[1]}/{v[2]}" for k, v in rep.by_amplitude.items()))
            print(f"[{tag}] by movement (events, spotted, right of the spotted, right from the true frames): "
                  + ", ".join(f"{k} {v[0]}/{v[1]}/{v[2]}/{v[3]}" for k, v in rep.by_movement.items()))
            for line in rep.lines:
                print("  " + line)
    return 0


def _frame_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise SynthError(f"--frame-size must be WIDTHxHEIGHT, e.g. 1280x720; got {text!r}") from None
    if not (160 <= w <= 3840 and 120 <= h <= 2160) or w % 2 or h % 2:
        raise SynthError(f"--frame-size must be even and between 160x120 and 3840x2160, got {text!r}")
    return w, h
