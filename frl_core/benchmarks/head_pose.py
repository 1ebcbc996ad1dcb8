"""``python main.py bench head-pose``: head-pose error under known rotations (``results/head_pose.md``).

Two checks. (1) Out-of-plane: faces of varied proportions (the generic face with its depth scaled by up
to +-20% and 2 mm of per-point depth noise, so the fit never sees its own model) projected under random
pitch, yaw and roll within +-20 degrees, with Gaussian landmark jitter, at 80-140 px between the outer
eye corners. (2) End to end through the landmark detector: the shipped real face photo rotated in the
image plane by known angles; the roll measured relative to the unrotated photo (the generator cannot
turn a face out of the image plane, so yaw and pitch are checked by (1) only).
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np

from frl_core.faces import FaceConfig, FaceTracker
from frl_core.faces.head_pose import GENERIC_FACE_3D, head_pose, project

FRAME = (640, 480)


def varied_face(rng: np.random.Generator, depth_variation: float = 0.2) -> np.ndarray:
    """A face unlike the generic one: depth scaled by up to +-``depth_variation``, plus 2 mm per point."""
    face = GENERIC_FACE_3D.copy()
    face[:, 2] = face[:, 2] * (1 + depth_variation * rng.uniform(-1, 1)) + rng.normal(0, 2.0, 68)
    return face


def out_of_plane_errors(trials: int, noise_px: float, seed: int = 0, max_deg: float = 20.0) -> np.ndarray:
    """(trials, 3) absolute errors in degrees of pitch, yaw, roll on projected faces."""
    rng = np.random.default_rng(seed)
    errors = np.zeros((trials, 3))
    for i in range(trials):
        angles = rng.uniform(-max_deg, max_deg, 3)
        translation = (rng.uniform(-50, 50), rng.uniform(-30, 30), rng.uniform(420, 720))
        landmarks = project(varied_face(rng), *angles, translation, FRAME)
        landmarks += rng.normal(0, noise_px, landmarks.shape)
        pose = head_pose(landmarks, FRAME)
        errors[i] = np.abs(np.array([pose.pitch, pose.yaw, pose.roll]) - angles)
    return errors


def roll_errors_through_detector(angles: tuple[float, ...] = (-20, -10, -5, 5, 10, 20)) -> list[tuple[float, float]]:
    """(true roll, measured roll relative to the upright photo) for the shipped face rotated in the image."""
    from frl_core.synth.render import load_face

    photo = load_face()
    h, w = photo.shape[:2]
    canvas = np.full((FRAME[1], FRAME[0], 3), 128, np.uint8)
    scale = min(FRAME[0] / w, FRAME[1] / h) * 0.8
    small = cv2.resize(photo, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_AREA)
    y0, x0 = (FRAME[1] - small.shape[0]) // 2, (FRAME[0] - small.shape[1]) // 2
    canvas[y0:y0 + small.shape[0], x0:x0 + small.shape[1]] = small

    def roll_at(angle: float) -> float:
        # cv2's positive angle turns the image counter-clockwise; the pose's positive roll is clockwise.
        m = cv2.getRotationMatrix2D((FRAME[0] / 2, FRAME[1] / 2), -angle, 1.0)
        frame = cv2.warpAffine(canvas, m, FRAME, borderMode=cv2.BORDER_REPLICATE)
        face, _ = FaceTracker(FaceConfig()).update(frame)
        if face is None:
            raise RuntimeError(f"no face found at roll {angle}")
        return head_pose(face.landmarks, FRAME).roll

    upright = roll_at(0.0)
    return [(float(a), roll_at(a) - upright) for a in angles]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--trials", type=int, default=500, help="projected faces per noise level (default 500)")
    parser.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    print("out of plane: random pitch/yaw/roll within +-20 deg, faces of varied depth (degrees: mean / 95th pct / max)")
    print("| landmark jitter (px, sd) | pitch | yaw | roll |")
    print("|---|---|---|---|")
    for noise in (0.0, 0.5, 1.0, 2.0):
        e = out_of_plane_errors(args.trials, noise, args.seed)
        cells = [f"{e[:, k].mean():.2f} / {np.percentile(e[:, k], 95):.2f} / {e[:, k].max():.2f}" for k in range(3)]
        print(f"| {noise:.1f} | " + " | ".join(cells) + " |")
    print("\nend to end, the shipped face photo rotated in the image, through the detector and landmarks:")
    print("| true roll | measured roll | error |")
    print("|---|---|---|")
    for true, measured in roll_errors_through_detector():
        print(f"| {true:+.0f} | {measured:+.2f} | {abs(measured - true):.2f} |")
    return 0
