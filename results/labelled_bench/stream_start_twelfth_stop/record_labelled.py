"""Record the spotter's input (aligned faces per frame) of encoded labelled sequences, once, for replay
(twelfth stop; a quality per codec and a face scale since the fifteenth).
usage: record_labelled.py NAME SEED FPS FACES CODEC[:CRF],... [FACE_SCALE [NOISE]]
  -> $REC_DIR (default /tmp/s12/rec)/NAME_<codec><crf>_<face>_<seed>.npz (NOISE: the sensor noise's factor, since the
  seventeenth stop; $EXPOSURE_STEPS: steps of a webcam's automatic exposure per sequence, and $FACE_CONFIG=key=value,...: tracker settings, since the nineteenth)"""
import os
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from spotter_input import log  # noqa: E402  (patches the spotter before the engine imports it)

from frl_core.benchmarks.generated import benchmark_faces  # noqa: E402
from frl_core.engine import AnalysisEngine, EngineConfig, analyse_source  # noqa: E402
from frl_core.faces import FaceConfig  # noqa: E402
from frl_core.io.sources import open_source  # noqa: E402
from frl_core.paths import default_data_root  # noqa: E402
from frl_core.synth.labelled import encode_video, labelled_sequence  # noqa: E402

name, seed0, fps, nfaces = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
face_scale = float(sys.argv[6]) if len(sys.argv) > 6 else 1.0
noise = float(sys.argv[7]) if len(sys.argv) > 7 else 1.0
steps = int(os.environ.get("EXPOSURE_STEPS", "0"))
out = Path(os.environ.get("REC_DIR", "/tmp/s12/rec"))
out.mkdir(parents=True, exist_ok=True)
faces = benchmark_faces(default_data_root(), nfaces)
per_face = max(1, 10 // len(faces))
seqs = [(fn, labelled_sequence(img, seed0 + 1000 * f + k, fps=fps, face_height=(0.9 if fn == "astronaut" else 0.55) * face_scale, noise_scale=noise, exposure_steps=steps))
        for f, (fn, img) in enumerate(faces) for k in range(per_face)]
with tempfile.TemporaryDirectory() as tmp:
    for spec in sys.argv[5].split(","):
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
            blank = np.zeros_like(next(x for _, x in log if x is not None))
            stack = np.stack([a if a is not None else blank for _, a in log])
            gt = [(e.onset, e.apex, e.offset, e.label) for e in seq.events]
            engine_events = [(e.onset_index, e.apex_index, e.offset_index, e.label) for e in found]
            tag = codec + (str(crf) if crf is not None else "")
            np.savez_compressed(out / f"{name}_{tag}_{fn.replace('/', '_')}_{seq.seed}.npz", index=idx, has=has,
                                faces=stack, meta=json.dumps({"fps": seq.fps, "truth": gt, "engine": engine_events}))
            print(name, tag, fn, seq.seed, "events", len(gt), "engine found", len(engine_events), flush=True)
