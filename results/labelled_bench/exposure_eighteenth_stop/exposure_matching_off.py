"""Runs main.py with the exposure matching of the eighteenth stop switched off (the spotter's reference and
the pair's match_exposure), for a before/after on the same command.
usage: exposure_matching_off.py synth bench --labelled ... (main.py's arguments)"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from frl_core.motion import registration  # noqa: E402
from frl_core.spotting import motion  # noqa: E402

motion.ExposureReference.for_stream = classmethod(lambda cls, config, fps: None)
registration.match_exposure = lambda reference, moving: (moving, 1.0)

import main  # noqa: E402

sys.exit(main.main(sys.argv[1:]))
