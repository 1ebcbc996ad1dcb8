import sys
from frl_core.engine import AnalysisEngine, EngineConfig, analyse_source
from frl_core.io.sources import open_source
from frl_core.spotting import SpotterConfig, streaming
on = sys.argv[2] == "1"
trace = {}
orig_init = streaming.StreamingSpotter.__init__
def init(self, *a, **k):
    orig_init(self, *a, **k)
    if self.macro is not None:
        mp = self.macro.push
        def push(index, face, _mp=mp, sp=self):
            r = _mp(index, face)
            if r[1] is not None:
                trace[r[1][0] * sp.macro.stride] = (r[1][1], sp.macro.detector.threshold, sp.macro.detector.active)
            return r
        self.macro.push = push
streaming.StreamingSpotter.__init__ = init
src = open_source(sys.argv[1])
eng = AnalysisEngine(EngineConfig(fps=src.fps, recognize=False, spotter=SpotterConfig()))
try:
    ev = analyse_source(src, eng)
finally:
    src.close()
print([(e.onset_index, e.offset_index, e.kind) for e in ev])
for j in sorted(trace):
    if int(sys.argv[3]) <= j <= int(sys.argv[4]):
        print(j, "c %.3f th %.3f %s" % trace[j])
