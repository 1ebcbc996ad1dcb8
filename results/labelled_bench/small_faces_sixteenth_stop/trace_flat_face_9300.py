import tempfile
from pathlib import Path
from frl_core.benchmarks.generated import benchmark_faces
from frl_core.engine import AnalysisEngine, EngineConfig, analyse_source
from frl_core.io.sources import open_source
from frl_core.paths import default_data_root
from frl_core.synth.labelled import encode_video, labelled_sequence
faces = benchmark_faces(default_data_root(), 10)
def seq_of(f):
    fn, img = faces[f]
    return labelled_sequence(img, 5300 + 1000 * f, fps=30, face_height=(0.9 if fn == "astronaut" else 0.55))
with tempfile.TemporaryDirectory() as tmp:
    def run(engine, f):
        path = encode_video(seq_of(f), Path(tmp) / f"v{f}.mp4", "mp4v", None)
        src = open_source(str(path))
        try:
            return [(e.onset_index, e.apex_index, e.offset_index) for e in analyse_source(src, engine)]
        finally:
            src.close()
    fresh = AnalysisEngine(EngineConfig(fps=30.0, recognize=False))
    print("fresh, analyse_source:", run(fresh, 4))
    eng = AnalysisEngine(EngineConfig(fps=30.0, recognize=False))
    for f in range(4):
        run(eng, f); eng.reset()
    print("after four streams and reset:", run(eng, 4))
