import sys
from pathlib import Path
import cv2
from frl_core.benchmarks.generated import benchmark_faces
from frl_core.synth.labelled import labelled_sequence
from frl_core.engine import AnalysisEngine, EngineConfig, analyse_source
from frl_core.io.sources import open_source
from frl_core.spotting import SpotterConfig
from frl_core.paths import default_data_root
idx, seed = int(sys.argv[1]), int(sys.argv[2])
name, img = benchmark_faces(Path(sys.argv[3]) if len(sys.argv) > 3 else default_data_root(), 5)[idx]
seq = labelled_sequence(img, seed, face_height=0.9 if name == "astronaut" else 0.55, head_turn_deg=5)
path = Path(f'/tmp/{name.replace("/", "_")}_{seed}.mp4')
w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), seq.fps, seq.size)
for f in seq.frames: w.write(f)
w.release()
print(name, [(e.onset, e.apex, e.offset) for e in seq.events])
for on in (True, False):
    engine = AnalysisEngine(EngineConfig(fps=seq.fps, recognize=False, spotter=SpotterConfig(macro_full_window_history=on)))
    src = open_source(str(path))
    try:
        ev = analyse_source(src, engine)
    finally:
        src.close()
    print(on, [(e.onset_index, e.offset_index, e.kind) for e in ev])
