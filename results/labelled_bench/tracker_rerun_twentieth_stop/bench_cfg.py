"""Run a main.py command with FaceConfig overrides (twentieth stop): bench_cfg.py key=value ... -- main.py args
(integers for whole numbers, else floats; 0 and 1 also serve as False and True)."""
import sys, dataclasses
from frl_core.faces import tracking
i = sys.argv.index("--")
over = {k: (int(v) if v.isdigit() else float(v)) for k, v in (a.split("=") for a in sys.argv[1:i])}
orig = tracking.FaceTracker.__init__
def init(self, config=None):
    orig(self, dataclasses.replace(config or tracking.FaceConfig(), **over))
tracking.FaceTracker.__init__ = init
sys.argv = ["main.py"] + sys.argv[i + 1:]
import runpy; runpy.run_path("main.py", run_name="__main__")
