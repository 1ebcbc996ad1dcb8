"""Record the spotter's input and the engine's events on labelled sequences rendered on composite faces the
benchmark never uses: one apex face of each of N subjects outside the benchmark's five faces (datasets in turn),
one sequence each (nineteenth stop, issue 17).
usage: [FACE_CONFIG=key=value,...] record_other_faces.py SEED0 N CODEC[:CRF],...  -> $REC_DIR (default /tmp/s19/other)/other_<codec><crf>_<face>_<seed>.npz"""
import csv
import json
import os
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "stream_start_twelfth_stop"))
from spotter_input import log  # noqa: E402  (patches the spotter before the engine imports it)

from frl_core.benchmarks.generated import benchmark_faces  # noqa: E402
from frl_core.engine import AnalysisEngine, EngineConfig, analyse_source  # noqa: E402
from frl_core.faces import FaceConfig  # noqa: E402
from frl_core.io.sources import open_source  # noqa: E402
from frl_core.paths import default_data_root  # noqa: E402
from frl_core.synth.labelled import encode_video, labelled_sequence  # noqa: E402
from frl_core.synth.render import STILL, SynthError, render_sequence  # noqa: E402

seed0, count = int(sys.argv[1]), int(sys.argv[2])
out = Path(os.environ.get("REC_DIR", "/tmp/s19/other"))
out.mkdir(parents=True, exist_ok=True)
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
with tempfile.TemporaryDirectory() as tmp:
    for spec in sys.argv[3].split(","):
        codec, _, crf = spec.partition(":")
        crf = int(crf) if crf else None
        engine = None
        for fn, seq in seqs:
            path = encode_video(seq, Path(tmp) / f"v.{'mp4' if codec == 'mp4v' else 'mkv'}", codec, crf)
            face_config = FaceConfig(**{k: float(v) for k, v in (kv.split("=") for kv in os.environ.get("FACE_CONFIG", "").split(",") if kv)})
            engine = AnalysisEngine(EngineConfig(fps=seq.fps, face=face_config)) if engine is None else engine
            engine.reset()
            log.clear()
            src = open_source(str(path))
            try:
                found = analyse_source(src, engine)
            finally:
                src.close()
            idx = np.array([i for i, _ in log])
            has = np.array([a is not None for _, a in log])
            blank = np.zeros((224, 224), np.uint8) if not has.any() else next(x for _, x in log if x is not None) * 0
            stack = np.stack([a if a is not None else blank for _, a in log]) if log else np.zeros((0, 224, 224), np.uint8)
            gt = [(e.onset, e.apex, e.offset, e.label) for e in seq.events]
            engine_events = [(e.onset_index, e.apex_index, e.offset_index, e.label) for e in found]
            tag = codec + (str(crf) if crf is not None else "")
            np.savez_compressed(out / f"other_{tag}_{fn.replace('/', '_')}_{seq.seed}.npz", index=idx, has=has,
                                faces=stack, meta=json.dumps({"fps": seq.fps, "truth": gt, "engine": engine_events}))
            print("other", tag, fn, seq.seed, "faces", int(has.sum()), "/", len(has), "events", len(gt),
                  "engine found", len(engine_events), flush=True)
