"""How much the alignment moves from frame to frame on its own: the change, between consecutive frames, of the
alignment's error against the rendered truth (rms over the 68 points, px of the 224-px aligned face), on 20 s
labelled sequences encoded as mp4v, per face and tracker setting (nineteenth stop, issue 17).
usage: tracker_jitter.py FACE,FACE,... "key=value ..." ...   (FACE: astronaut or dataset/subject of the composite;
"" is the default setting)"""
import csv
import dataclasses
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from frl_core.benchmarks.generated import benchmark_faces
from frl_core.benchmarks.tracking import alignment_steps
from frl_core.faces import FaceConfig
from frl_core.io.sources import open_source
from frl_core.paths import default_data_root
from frl_core.synth.labelled import encode_video, labelled_sequence

root = default_data_root()


def image_of(face: str) -> np.ndarray:
    if face == "astronaut":
        return dict(benchmark_faces(root, 1))["astronaut"]
    row = next(r for r in csv.DictReader((root / "megc2019" / "labels.csv").open())
               if f"{r['dataset']}/{r['subject']}" == face)
    return cv2.imread(str(root / "megc2019" / row["apex"]))


def run(args):
    face, seed, spec = args
    overrides = {k: (int(v) if v.isdigit() else float(v)) for k, v in (kv.split("=") for kv in spec.split() if kv)}
    seq = labelled_sequence(image_of(face), seed, fps=30.0, face_height=0.9 if face == "astronaut" else 0.55)
    with tempfile.TemporaryDirectory() as tmp:
        src = open_source(str(encode_video(seq, Path(tmp) / "v.mp4", "mp4v", None)))
        frames = (item[1] if isinstance(item, tuple) else item for item in src)
        steps = alignment_steps(frames, (seq.landmarks_at(i) for i in range(seq.n_frames)),
                                dataclasses.replace(FaceConfig(), **overrides))
        src.close()
    return face, spec, float(np.median(steps)), float(np.percentile(steps, 95)), float(steps.max())


faces = sys.argv[1].split(",")
specs = sys.argv[2:] or [""]
with ProcessPoolExecutor(2) as ex:
    jobs = [(f, 40000 + k, s) for k, f in enumerate(faces) for s in specs]
    for face, spec, med, p95, worst in ex.map(run, jobs):
        print(f"{face:14s} {spec or 'default':22s} median {med:.3f}  p95 {p95:.3f}  max {worst:.2f}", flush=True)
