import sys, dataclasses
import frl_core.faces.tracking as t
fields = {f.name: f for f in dataclasses.fields(t.FaceConfig)}
orig_init = t.FaceConfig.__init__
def init(self, *a, **k):
    orig_init(self, *a, **k)
    self.equalize_when_missing = False
t.FaceConfig.__init__ = init
sys.argv = ["main.py"] + sys.argv[1:]
import runpy
runpy.run_path("main.py", run_name="__main__")
