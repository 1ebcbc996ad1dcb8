"""The lip corners' and the brows' own detectors on real clips: what they score and where their thresholds sit.

    PYTHONPATH=. python results/speech_thirty_seventh_stop/corner_thresholds.py VIDEO [VIDEO ...]

Per clip and detector (``StreamingSpotter._corners``: the corners' rise beyond the jaw's share; ``_corners_down``:
their fall; ``_brows``): how many frames it learnt from (talking frames, for the corners), the share of scores
above 0, the scores' median, 90th percentile and maximum, and its threshold over the clip (median, minimum).
"""
import sys

import numpy as np

from frl_core.engine import AnalysisEngine, EngineConfig, analyse_source
from frl_core.io.sources import open_source
from frl_core.spotting import streaming

DETECTORS = ("_corners", "_corners_down", "_brows")
spotters: list = []
_init = streaming.StreamingSpotter.__init__


def _logged(self, *args, **kwargs):
    """Build the spotter, then log every score its hidden-movement detectors are fed, with their threshold."""
    _init(self, *args, **kwargs)
    spotters.append(self)
    for name in DETECTORS:
        detector = getattr(self, name)
        if detector is None:
            continue
        detector.log = []
        push = detector.push

        def logged_push(j, c, learn=True, detector=detector, push=push):
            detector.log.append((j, c, learn, detector.threshold))
            return push(j, c, learn)

        detector.push = logged_push


streaming.StreamingSpotter.__init__ = _logged

for path in sys.argv[1:]:
    spotters.clear()
    source = open_source(path)
    try:
        events = analyse_source(source, AnalysisEngine(EngineConfig(fps=float(source.fps or 25.0))))
    finally:
        source.close()
    print(path.rsplit("/", 1)[-1], len(events), "events")
    for name in DETECTORS:
        log = np.array([row for row in getattr(spotters[-1], name).log], float)
        scores, learnt, threshold = log[:, 1], log[:, 2] > 0, log[:, 3]
        print(f"  {name}: learn frames {learnt.sum():.0f}/{len(log)}; values>0 {np.nanmean(scores > 0):.2f}; "
              f"c p50 {np.nanpercentile(scores, 50):.2f} p90 {np.nanpercentile(scores, 90):.2f} "
              f"max {np.nanmax(scores):.2f}; thr med {np.nanmedian(threshold):.2f} min {np.nanmin(threshold):.2f}")
