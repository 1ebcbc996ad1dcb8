"""Run the engine on one labelled sequence (encoded) with the exposure limit given; print events and drops."""
import sys, tempfile
from pathlib import Path
from frl_core.benchmarks.generated import benchmark_faces
from frl_core.engine import AnalysisEngine, EngineConfig, analyse_source
from frl_core.io.sources import open_source
from frl_core.paths import default_data_root
from frl_core.synth.labelled import encode_video, labelled_sequence
face, seed, codec, steps = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
img = dict(benchmark_faces(default_data_root(), 5))[face]
seq = labelled_sequence(img, seed, fps=30.0, face_height=0.9 if face == "astronaut" else 0.55, exposure_steps=steps)
print("truth", [(e.onset, e.apex, e.offset, e.label) for e in seq.events])
with tempfile.TemporaryDirectory() as tmp:
    path = encode_video(seq, Path(tmp) / ("v.mp4" if codec == "mp4v" else "v.mkv"), codec, None)
    for limit in (0.04, 0.0):
        engine = AnalysisEngine(EngineConfig(fps=30.0, exposure_step_max=limit, recognize=False))
        with open_source(str(path)) as src:
            found = analyse_source(src, engine)
        print(limit, "dropped", engine.stats.exposure_steps, [(e.onset_index, e.apex_index, e.offset_index) for e in found])
