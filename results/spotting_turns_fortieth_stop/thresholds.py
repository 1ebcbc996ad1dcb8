import sys
from frl_core.engine import AnalysisEngine, EngineConfig, analyse_source
from frl_core.io.sources import open_source
from frl_core.spotting import SpotterConfig, streaming
rows = []
orig = streaming.StreamingSpotter._push_prepared
def pp(self, index, face):
    r = orig(self, index, face)
    if index % 30 == 0 and self.macro is not None:
        rows.append((index, self.micro.detector.threshold, self.macro.detector.threshold))
    return r
streaming.StreamingSpotter._push_prepared = pp
src = open_source(sys.argv[1])
eng = AnalysisEngine(EngineConfig(fps=src.fps, recognize=False))
try:
    ev = analyse_source(src, eng)
finally:
    src.close()
print([(e.onset_index, e.offset_index, e.kind) for e in ev])
print(" ".join(f"{i}:{a:.2f}/{b:.2f}" for i, a, b in rows))
