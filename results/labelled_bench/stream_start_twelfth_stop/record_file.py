"""Record the spotter's input for a video file with a truth json (the demo encodings)."""
import sys, json
from pathlib import Path
import numpy as np
from frl_core.engine import AnalysisEngine, EngineConfig, analyse_source
from frl_core.io.sources import open_source
from spotter_input import log
truth = json.load(open("assets/demo/demo_ground_truth.json"))
for path in sys.argv[1:]:
    src = open_source(path)
    fps = src.fps if getattr(src, "fps", None) else 30.0
    engine = AnalysisEngine(EngineConfig(fps=fps))
    log.clear()
    try:
        found = analyse_source(src, engine)
    finally:
        src.close()
    idx = np.array([i for i, _ in log]); has = np.array([a is not None for _, a in log])
    stack = np.stack([a if a is not None else np.zeros((224, 224), np.uint8) for _, a in log])
    np.savez_compressed(Path("/tmp/s12/rec") / f"demo_{Path(path).stem}.npz", index=idx, has=has, faces=stack,
                        meta=json.dumps({"fps": fps, "truth_json": True, "engine": [(e.onset_index, e.apex_index, e.offset_index) for e in found]}))
    print(path, fps, "engine found", len(found), flush=True)
