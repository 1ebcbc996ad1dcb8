import tempfile, sys
from pathlib import Path
import numpy as np
from frl_core.benchmarks.generated import benchmark_faces
from frl_core.engine import AnalysisEngine, EngineConfig, analyse_source
from frl_core.faces.tracking import FaceConfig
from frl_core.io.sources import open_source
from frl_core.paths import default_data_root
from frl_core.synth.labelled import encode_video, labelled_sequence
fn, img = benchmark_faces(default_data_root(), 10)[4]
seq = labelled_sequence(img, 9300, fps=30, face_height=0.55)
with tempfile.TemporaryDirectory() as tmp:
    path = encode_video(seq, Path(tmp) / "v.mp4", "mp4v", None)
    for eq in (True, False):
        eng = AnalysisEngine(EngineConfig(fps=30.0, recognize=False, face=FaceConfig(equalize_when_missing=eq)))
        res = []
        src = open_source(str(path))
        try:
            ev = analyse_source(src, eng, on_frame=lambda f, r, e: res.append(r))
        finally:
            src.close()
        none = [r.index for r in res if r.face is None]
        thr = [getattr(r, "threshold", None) for r in res]
        print("equalize", eq, "frames without face", len(none), none[:10], "events", [(e.onset_index, e.apex_index, e.offset_index) for e in ev])
        print("  threshold at 100/300/560/580:", [round(float(thr[i]), 3) if thr[i] is not None else None for i in (100, 300, 560, 580)])
        sc = np.array([getattr(r, "motion_score", np.nan) for r in res], dtype=float)
        print("  max score 560-600:", np.nanmax(sc[560:600]).round(3))
