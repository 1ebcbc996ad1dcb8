"""Record the spotter's input and the engine's events on labelled sequences rendered on composite faces the
benchmark never uses: one apex face of each of N subjects outside the benchmark's five faces (datasets in turn),
one sequence each (nineteenth stop, issue 17).
usage: [FACE_CONFIG=key=value,...] record_other_faces.py SEED0 N CODEC[:CRF],...
  -> $REC_DIR (default /tmp/s19/other)/other_<codec><crf>_<face>_<seed>.npz"""
import csv
import os
import sys
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "stream_start_twelfth_stop"))
from spotter_input import record_sequences  # noqa: E402  (patches the spotter before the engine imports it)

from frl_core.benchmarks.generated import benchmark_faces  # noqa: E402
from frl_core.paths import default_data_root  # noqa: E402
from frl_core.synth.labelled import labelled_sequence  # noqa: E402
from frl_core.synth.render import STILL, SynthError, render_sequence  # noqa: E402

seed0, count = int(sys.argv[1]), int(sys.argv[2])
root = default_data_root()
used = {name for name, _ in benchmark_faces(root, 5)}
rows = list(csv.DictReader((root / "megc2019" / "labels.csv").open()))
by_dataset: dict[str, list[dict]] = {}
seen = set(used)
for r in rows:
    subject = f"{r['dataset']}/{r['subject']}"
    if subject not in seen:
        seen.add(subject)
        by_dataset.setdefault(r["dataset"], []).append(r)
faces = []
for r in (r for group in zip(*by_dataset.values()) for r in group):
    if len(faces) >= count:
        break
    image = cv2.imread(str(root / "megc2019" / r["apex"]), cv2.IMREAD_COLOR)
    try:
        render_sequence(image, n_frames=1, face_height=0.55, head_motion=STILL, background="soft")
    except SynthError:
        print("no face found on the canvas:", r["dataset"], r["subject"], flush=True)
        continue
    faces.append((f"{r['dataset']}/{r['subject']}", image))
seqs = [(fn, labelled_sequence(img, seed0 + k, fps=30.0)) for k, (fn, img) in enumerate(faces)]
record_sequences(seqs, sys.argv[3], Path(os.environ.get("REC_DIR", "/tmp/s19/other")), "other")
