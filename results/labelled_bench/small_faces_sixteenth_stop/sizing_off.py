import sys
import frl_core.engine.analysis as a
orig = a.sized_for
def logged(config, upscale):
    out = orig(config, upscale)
    print(f"stream first face upscale {upscale:.2f} -> blur {out.blur_sigma}", file=sys.stderr, flush=True)
    return config if sys.argv[1] == "off" else out
a.sized_for = logged
sys.argv = ["main.py"] + sys.argv[2:]
import runpy
runpy.run_path("main.py", run_name="__main__")
