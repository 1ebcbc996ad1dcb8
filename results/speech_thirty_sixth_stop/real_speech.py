"""Real speech through the engine: what it spots while a real person talks, and why.

    PYTHONPATH=. python results/speech_thirty_sixth_stop/real_speech.py VIDEO [VIDEO ...]

The talking benchmarks render syllables on still photos; this runs real recordings of people talking. The clips
used at the thirty-sixth stop are six 8 s, 25 fps, 512x512 talking-head clips (HDTF, as shipped in the examples of
the public SadTalker repository, github.com/OpenTalker/SadTalker; not copied here): `examples/ref_video/WDA_*.mp4`
at its current head and `test/examples/source_image/*.mp4` at commit 68651eb. They carry no labels: every event
is printed with where it moved (the spotter's own reading at its apex: at the mouth or not) so that it can be
checked by eye. Per clip: the events (kind, interval, label, the AU region that moved most), the intervals left
out as speech, the micro track's threshold over the clip (median, max) against the score's median, and the share
of frames where the mouth counted as moving (`StreamingSpotter._follow_mouth`, which the speech filter's
"beside talking" reads).
"""
import sys

import numpy as np

from frl_core.engine import AnalysisEngine, EngineConfig, analyse_source
from frl_core.io.sources import open_source
from frl_core.spotting import streaming

spotters: list = []
_init = streaming.StreamingSpotter.__init__


def _remember(self, *args, **kwargs):
    _init(self, *args, **kwargs)
    spotters.append(self)


streaming.StreamingSpotter.__init__ = _remember

total_events = total_seconds = 0.0
for path in sys.argv[1:]:
    spotters.clear()
    source = open_source(path)
    fps = float(source.fps or 25.0)
    engine = AnalysisEngine(EngineConfig(fps=fps))
    thresholds, scores = [], []

    def on_frame(frame, result, events):
        thresholds.append(result.threshold)
        scores.append(result.motion_score)

    try:
        events = analyse_source(source, engine, on_frame=on_frame)
    finally:
        source.close()
    spotter = spotters[-1]
    n = len(thresholds)
    moved = len(set(spotter._mouth_moved))
    th, sc = np.array(thresholds, float), np.array(scores, float)
    print(f"{path.rsplit('/', 1)[-1]}: {n} frames ({n / fps:.1f} s at {fps:g} fps); {len(events)} events, "
          f"{len(engine.stats.speech)} left out as speech; threshold median {np.nanmedian(th):.2f} max "
          f"{np.nanmax(th):.2f}, score median {np.nanmedian(sc):.2f}; mouth moving in {moved} of {n} frames")
    for e in events:
        top = max(e.region_magnitude, key=e.region_magnitude.get) if e.region_magnitude else "-"
        print(f"    {e.kind:5s} {e.onset_index}-{e.apex_index}-{e.offset_index} {e.label} (moved most: {top})"
              + ("; while talking" if getattr(e, "while_talking", False) else ""))
    total_events += len(events)
    total_seconds += n / fps
per_minute = 60 * total_events / max(total_seconds, 1e-9)
print(f"{total_events:.0f} events in {total_seconds:.0f} s of talking ({per_minute:.1f} a minute)")
