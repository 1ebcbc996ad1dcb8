"""Record the spotter's input (aligned faces per frame) of encoded labelled sequences, once, for replay.
usage: record.py NAME SEED FPS FACES CODECS  -> /tmp/s12/rec/NAME_<codec>_<face>_<seed>.npz"""
import sys, tempfile, json
from pathlib import Path
import numpy as np
from frl_core.benchmarks.generated import benchmark_faces
from frl_core.paths import default_data_root
from frl_core.synth.labelled import labelled_sequence, encode_video
from frl_core.engine import AnalysisEngine, EngineConfig, analyse_source
from frl_core.io.sources import open_source
from spotter_input import log

name, seed0, fps, nfaces = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
codecs = sys.argv[5].split(",")
out = Path("/tmp/s12/rec")
faces = benchmark_faces(default_data_root(), nfaces)
per_face = max(1, 10 // len(faces))
seqs = [(fn, labelled_sequence(img, seed0 + 1000 * f + k, fps=fps, face_height=0.9 if fn == "astronaut" else 0.55))
        for f, (fn, img) in enumerate(faces) for k in range(per_face)]
with tempfile.TemporaryDirectory() as tmp:
    for codec in codecs:
        engine = None
        for fn, seq in seqs:
            path = encode_video(seq, Path(tmp) / f"v.{'mp4' if codec == 'mp4v' else 'mkv'}", codec)
            engine = AnalysisEngine(EngineConfig(fps=seq.fps)) if engine is None else engine
            engine.reset()
            log.clear()
            src = open_source(str(path))
            try:
                found = analyse_source(src, engine)
            finally:
                src.close()
            idx = np.array([i for i, _ in log]); has = np.array([a is not None for _, a in log])
            stack = np.stack([a if a is not None else np.zeros_like(next(x for _, x in log if x is not None)) for _, a in log])
            gt = [(e.onset, e.apex, e.offset, e.label) for e in seq.events]
            engine_events = [(e.onset_index, e.apex_index, e.offset_index) for e in found]
            np.savez_compressed(out / f"{name}_{codec}_{fn.replace('/', '_')}_{seq.seed}.npz", index=idx, has=has, faces=stack,
                                meta=json.dumps({"fps": seq.fps, "truth": gt, "engine": engine_events}))
            print(name, codec, fn, seq.seed, "events", len(gt), "engine found", len(engine_events), flush=True)
