"""Alignment error (px of the 224-px face, mean / 95th percentile) of a head shaken as in `bench tracking` when
the tracker sees every frame or frames with uneven gaps (1, 1, 2 or 3 frames at random, as a live source drops
them): the predictor alone, the flow from where the points were, the flow from the predicted motion without and
with the frames' timestamps (twentieth stop).  usage: PYTHONPATH=. python dropped_frames.py"""
import numpy as np

from frl_core.benchmarks.generated import benchmark_faces
from frl_core.benchmarks.tracking import alignment_error, shaken_head
from frl_core.faces import FaceConfig, FaceTracker
from frl_core.paths import default_data_root

faces = benchmark_faces(default_data_root(), 2)
kept = np.cumsum(np.random.default_rng(0).choice([1, 1, 2, 3], size=200))
kept = kept[kept < 240]
variants = [("predictor alone", FaceConfig(predictor_gain=1.0), False),
            ("flow from where the points were", FaceConfig(flow_prediction=False), False),
            ("predicted, no timestamps", FaceConfig(), False), ("predicted, timestamps", FaceConfig(), True)]
for name, image in faces:
    seq = shaken_head(image, frames=240)
    for label, frames in (("every frame", range(240)), ("uneven gaps", kept)):
        out = []
        for vname, config, timed in variants:
            tracker, errors = FaceTracker(config), []
            for i in frames:
                face, _ = tracker.update(seq.frames[i], i / 30.0 if timed else None)
                errors.append(alignment_error(face.landmarks, seq.landmarks_at(i)) if face else np.nan)
            e = np.array(errors)
            out.append(f"{vname} {np.nanmean(e):.2f} / {np.nanpercentile(e, 95):.2f}")
        print(f"{name}, {label}: " + " | ".join(out), flush=True)
