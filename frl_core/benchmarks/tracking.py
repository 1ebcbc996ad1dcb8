"""``python main.py bench tracking``: how far the tracked alignment is from where the face is, and whether
that depends on the frame the tracker started on (``results/tracking.md``).

The labelled benchmark's faces (the shipped photo and faces of the composite) are rendered with head drift,
roll, scale change, micro-expressions and blinks; the renderer knows where the photo's landmarks went in
every frame. For each sequence the tracker is started at several frames, and every frame's alignment is
compared with the alignment the true landmarks give: the mean distance, in pixels of the 224-pixel aligned
face, between where the two put the face's rigid points. The truth is dlib's own landmarks on the still
photo, so a constant offset of a few pixels on a soft face is the predictor's, not the tracker's; what the
tracker adds is drift, and a dependence on where it started. A last sequence moves the head towards and
away from the camera by a third, to check that the box still follows the face's size; two more shake the
head from side to side as people do (up to about a fifth of the face's width a frame), to check that the
landmarks carried by optical flow keep up.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable

import numpy as np

from frl_core import synth
from frl_core.benchmarks.generated import benchmark_faces
from frl_core.faces import FaceConfig, FaceTracker
from frl_core.faces.tracking import RIGID_POINTS, alignment_matrix
from frl_core.paths import default_data_root
from frl_core.synth.labelled import labelled_sequence

ALIGNED = 224


def alignment_error(landmarks: np.ndarray, truth: np.ndarray) -> float:
    """Mean distance (pixels of the aligned face) between where two alignments put the true rigid points."""
    pts = truth[list(RIGID_POINTS)]
    a, b = alignment_matrix(landmarks, ALIGNED), alignment_matrix(truth, ALIGNED)
    return float(np.linalg.norm(pts @ a[:, :2].T + a[:, 2] - (pts @ b[:, :2].T + b[:, 2]), axis=1).mean())


def alignment_offset(landmarks: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(68, 2) where the alignment by ``landmarks`` puts the true points, less where the true alignment puts
    them (pixels of the aligned face)."""
    a, b = alignment_matrix(landmarks, ALIGNED), alignment_matrix(truth, ALIGNED)
    return (truth @ a[:, :2].T + a[:, 2]) - (truth @ b[:, :2].T + b[:, 2])


def alignment_steps(frames: Iterable[np.ndarray], truths: Iterable[np.ndarray],
                    config: FaceConfig | None = None) -> np.ndarray:
    """How far the alignment moves on its own from one frame to the next: the rms change of
    :func:`alignment_offset` between consecutive frames with a face (pixels of the aligned face). The spotter
    reads this as motion; a mean error (:func:`alignment_error`) does not show it."""
    tracker = FaceTracker(config or FaceConfig())
    before, steps = None, []
    for frame, truth in zip(frames, truths):
        face, _ = tracker.update(frame)
        if face is None:
            before = None
            continue
        offset = alignment_offset(face.landmarks, truth)
        if before is not None:
            steps.append(float(np.sqrt(((offset - before) ** 2).sum(1).mean())))
        before = offset
    return np.array(steps)


def tracked_errors(seq: synth.SyntheticSequence, start: int, frames: int,
                   config: FaceConfig | None = None) -> list[float]:
    """Alignment error of every frame from ``start`` to ``frames`` with a tracker started at ``start``."""
    tracker = FaceTracker(config or FaceConfig())
    out = []
    for i in range(start, frames):
        face, _ = tracker.update(seq.frames[i])
        out.append(alignment_error(face.landmarks, seq.landmarks_at(i)) if face is not None else np.nan)
    return out


SHAKING = synth.HeadMotion(translation=30.0, rotation_deg=8.0, scale=0.05, periods_s=(1.2, 0.9))
"""A head shaken from side to side: 30 px of sway, 8 degrees of roll, up to 7 px a frame at 30 fps."""


def shaken_head(image: np.ndarray, fps: float = 30.0, frames: int = 120) -> synth.SyntheticSequence:
    """``image`` rendered half the frame's height and shaken by :data:`SHAKING`."""
    return synth.render_sequence(image, fps=fps, n_frames=frames, seed=1, head_motion=SHAKING, face_height=0.5)


def shaking_errors(image: np.ndarray, config: FaceConfig | None = None, fps: float = 30.0,
                   frames: int = 120) -> tuple[np.ndarray, float]:
    """Alignment error of every frame of :func:`shaken_head`, and the head's fastest motion in pixels a frame."""
    seq = shaken_head(image, fps, frames)
    at = [SHAKING.at(i / fps)[:2] for i in range(frames)]
    speed = max(float(np.hypot(*np.subtract(b, a))) for a, b in zip(at, at[1:]))
    return np.array(tracked_errors(seq, 0, frames, config)), speed


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--faces", type=int, default=5, help="the shipped photo and up to 4 composite faces")
    parser.add_argument("--seed", type=int, default=1500, help="the labelled benchmark's seed (two sequences a face)")
    parser.add_argument("--fps", type=float, default=25.0)
    parser.add_argument("--frames", type=int, default=150, help="frames per sequence")
    parser.add_argument("--starts", default="0,4,8,12,16,20,30", help="frames the tracker is started on")
    parser.add_argument("--box-scale-gain", type=float, default=FaceConfig.box_scale_gain,
                        help="FaceConfig.box_scale_gain (1 = the box follows the landmarks' scale fully)")


def run(args: argparse.Namespace) -> int:
    starts = [int(s) for s in str(args.starts).split(",")]
    config = FaceConfig(box_scale_gain=args.box_scale_gain)
    faces = benchmark_faces(default_data_root(), args.faces)
    print(f"alignment error, px of the {ALIGNED}-px face: each start's mean over its last 60 frames "
          f"({args.fps:g} fps, {args.frames} frames, starts {args.starts}, box_scale_gain {config.box_scale_gain})")
    print("| sequence | " + " | ".join(f"from {s}" for s in starts) + " | spread |")
    print("|---|" + "---|" * (len(starts) + 1))
    table, worst = [], 0.0
    for f, (name, image) in enumerate(faces):
        for k in range(2):
            seed = args.seed + 1000 * f + k
            seq = labelled_sequence(image, seed, fps=args.fps, face_height=0.9 if name == "astronaut" else 0.55)
            row = []
            for s in starts:
                errors = tracked_errors(seq, s, args.frames, config)
                row.append(float(np.nanmean(errors[-60:])))
                worst = max(worst, float(np.nanmax(errors)))
            table.append(row)
            print(f"| {name} {seed} | " + " | ".join(f"{e:.2f}" for e in row) + f" | {max(row) - min(row):.2f} |")
    t = np.array(table)
    print(f"mean {t.mean():.2f} px; worst run {t.max():.2f} px; runs above 5 px {int((t > 5).sum())} of {t.size}; "
          f"spread across starts (mean per sequence) {(t.max(1) - t.min(1)).mean():.2f} px; worst frame {worst:.2f} px")
    motion = synth.HeadMotion(translation=20.0, rotation_deg=3.0, scale=1.5, periods_s=(6.0, 6.0))
    seq = synth.render_sequence(faces[0][1], fps=args.fps, n_frames=args.frames, seed=1, head_motion=motion,
                                face_height=0.6)
    scales = [motion.at(i / args.fps)[3] for i in range(args.frames)]
    errors = tracked_errors(seq, 0, args.frames, config)
    print(f"head approaching and receding (scale {min(scales):.2f}-{max(scales):.2f}, {faces[0][0]}): "
          f"mean {np.nanmean(errors):.2f} px, worst frame {np.nanmax(errors):.2f} px")
    for name, image in faces[:2]:
        errors, speed = shaking_errors(image, config)
        print(f"head shaken from side to side (up to {speed:.1f} px a frame at 30 fps, {name}): "
              f"mean {np.nanmean(errors):.2f} px, 95th percentile {np.nanpercentile(errors, 95):.2f} px, "
              f"frames without a face {int(np.isnan(errors).sum())}")
    return 0
