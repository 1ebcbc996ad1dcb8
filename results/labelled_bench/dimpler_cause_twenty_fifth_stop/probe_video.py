"""The dimpler and the smile on the DGM's held-out faces (70 apex faces), no tracker: each pair coded as the
trunks' bank codes it (JPEG frame by frame, ``make_pair``) or as a video codec codes a movement (the movement over
six frames on a face drifting up to 0.4 px a frame and rolling, through mp4v or H.264, then the drift undone).

    PATH=<ffmpeg with libx264>:$PATH PYTHONPATH=. python probe_video.py LIVE_FILE mp4v,h264 [DRIFT] [MOVEMENTS]

DRIFT scales the head's drift (0: a still face); MOVEMENTS defaults to dimpler,smile.
"""
import collections
import os
import subprocess
import sys
import tempfile

import cv2
import numpy as np

from frl_core.faces.action_units import EXPRESSIONS, au_field
from frl_core.models.inference import Recognizer
from frl_core.paths import default_data_root
from frl_core.training.dgm_train import (DGMTrainConfig, _warp, global_affine_field, held_out_subjects,
                                         load_face_bank, make_pair)

STEPS = 6


def code(frames: list[np.ndarray], codec: str, work: str) -> list[np.ndarray]:
    path = os.path.join(work, "c.mp4" if codec == "mp4v" else "c.mkv")
    h, w = frames[0].shape
    if codec == "mp4v":
        writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (w, h))
        for f in frames:
            writer.write(cv2.cvtColor(f, cv2.COLOR_GRAY2BGR))
        writer.release()
    else:
        p = subprocess.Popen(["ffmpeg", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "gray", "-s",
                              f"{w}x{h}", "-r", "30", "-i", "-", "-c:v", "libx264", "-pix_fmt", "yuv420p", path],
                             stdin=subprocess.PIPE)
        p.communicate(np.stack(frames).tobytes())
    capture, out = cv2.VideoCapture(path), []
    while True:
        ok, f = capture.read()
        if not ok:
            return out
        out.append(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY))


def moved(img: np.ndarray, dx: float, dy: float, deg: float, inverse: bool = False) -> np.ndarray:
    m = cv2.getRotationMatrix2D((111.5, 111.5), deg, 1.0)
    m[:, 2] += (dx, dy)
    if inverse:
        m = cv2.invertAffineTransform(m)
    return cv2.warpAffine(img, m, (224, 224), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)


def coded_pair(face, field, rng, codec, work, drift):
    seq = [face] * 3 + [_warp(face, field * np.float32(k / STEPS), -1.0) for k in range(1, STEPS + 1)]
    seq += [seq[-1]] * 2
    angle, speed, roll = rng.uniform(0, 2 * np.pi), rng.uniform(0.05, 0.4) * drift, rng.normal(0, 0.03) * drift
    moves = [(k * speed * np.cos(angle), k * speed * np.sin(angle), k * roll) for k in range(len(seq))]
    sigma = rng.uniform(0, 3)
    frames = [np.clip(np.round(moved(f, *m).astype(np.float32) + rng.normal(0, sigma, f.shape)), 0, 255).astype(np.uint8)
              for f, m in zip(seq, moves)]
    dec = code(frames, codec, work)
    return moved(dec[2], *moves[2], inverse=True), moved(dec[2 + STEPS], *moves[2 + STEPS], inverse=True)


def main() -> None:
    live, codecs = sys.argv[1], sys.argv[2].split(",")
    drift = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
    movements = sys.argv[4].split(",") if len(sys.argv) > 4 else ["dimpler", "smile"]
    bank = load_face_bank(default_data_root())
    cfg = DGMTrainConfig(img_size=224)
    held = held_out_subjects(bank.subjects, cfg.held_out_every)
    faces = [i for i, s in enumerate(bank.subjects) if s in held]
    rec = Recognizer.from_checkpoint(live, device="cpu")
    with tempfile.TemporaryDirectory() as work:
        for e in movements:
            want = EXPRESSIONS[e][1]
            for codec in ["jpeg-bank"] + codecs:
                rng = np.random.default_rng(5)
                pairs = []
                for i in faces:
                    pts = bank.landmarks[i] + rng.normal(0, 1.0, (68, 2))
                    f = au_field(pts, EXPRESSIONS[e][0], 224, 224) * np.float32(rng.uniform(0.5, 3.0))
                    f += global_affine_field(rng, 224, 0.1)
                    if codec == "jpeg-bank":
                        o, a, _ = make_pair(bank.faces[i], f, rng, cfg)
                    else:
                        o, a = coded_pair(bank.faces[i], f, rng, codec, work, drift)
                    pairs.append((o, a))
                out = rec.recognize(pairs)
                labels = collections.Counter(r.label for r in out)
                print(f"{e:22s} {codec:10s} top class right {sum(r.top_class == want for r in out)}/{len(out)}  "
                      f"labels {dict(labels)}", flush=True)


if __name__ == "__main__":
    main()
