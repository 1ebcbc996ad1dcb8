"""How evenly an event's motion is spread over the AU regions: is an event over real talking a 3D head turn?

    PYTHONPATH=. python results/speech_thirty_seventh_stop/region_spread.py real VIDEO [VIDEO ...]
    PYTHONPATH=. python results/speech_thirty_seventh_stop/region_spread.py rendered

The spread is the largest region's mean displacement over the median region's (``Event.region_magnitude``, head
motion registered out): near 1 when every region moves alike, as a head turn that the 2D registration cannot undo
leaves it. ``real``: every event of each video. ``rendered``: the movements found (MEGC IoU >= 0.5) in the labelled
benchmark's ten sequences at seed 33300 (five faces, mp4v), with their expression.
"""
import sys
import tempfile
from pathlib import Path

import numpy as np

from frl_core.benchmarks.generated import benchmark_faces
from frl_core.engine import AnalysisEngine, EngineConfig, analyse_source
from frl_core.io.sources import open_source
from frl_core.paths import default_data_root
from frl_core.spotting.megc_metric import match_intervals
from frl_core.synth.labelled import encode_video, labelled_sequence


def spread(event) -> float:
    values = np.array(list(event.region_magnitude.values()), float)
    return float(values.max() / np.median(values)) if len(values) and np.median(values) > 0 else float("nan")


def events_of(path: str, fps: float | None = None) -> list:
    source = open_source(path)
    try:
        return analyse_source(source, AnalysisEngine(EngineConfig(fps=float(fps or source.fps or 25.0))))
    finally:
        source.close()


if sys.argv[1] == "rendered":
    work = Path(tempfile.mkdtemp())
    found = []
    for f, (name, image) in enumerate(benchmark_faces(default_data_root(), 5)):
        for k in range(2):
            seq = labelled_sequence(image, 33300 + 1000 * f + k, face_height=0.9 if name == "astronaut" else 0.55)
            events = events_of(str(encode_video(seq, work / f"{f}_{k}.mp4", "mp4v")), seq.fps)
            matches = match_intervals([(e.onset, e.offset) for e in seq.events],
                                      [(e.onset_index, e.offset_index) for e in events])
            found += [(seq.events[g].expression, events[p].kind, spread(events[p])) for g, p in matches]
    spreads = np.array([s for _, _, s in found])
    print(f"rendered movements found: {len(found)}; spread min {np.nanmin(spreads):.2f}, 10th percentile "
          f"{np.nanpercentile(spreads, 10):.2f}, median {np.nanmedian(spreads):.2f}; the most even:")
    for expression, kind, s in sorted(found, key=lambda x: x[2])[:8]:
        print(f"    {expression} ({kind}) {s:.2f}")
else:
    for path in sys.argv[2:]:
        for e in events_of(path):
            print(f"{path.rsplit('/', 1)[-1]} {e.kind} {e.onset_index}-{e.apex_index}-{e.offset_index} spread "
                  f"{spread(e):.2f}")
