"""How much the lips' opening changes over a tenth of a second, as the spotter reads it, from `analyze`'s frames.csv.

    python main.py analyze VIDEO --out OUT --no-png --no-progress
    PYTHONPATH=. python results/speech_thirty_seventh_stop/lip_change.py OUT/frames.csv [FPS]

The opening is ``faces.au_regions.lip_opening`` of each frame's 68 landmarks; like ``StreamingSpotter._lips_moved``
it is averaged over the frames the faces are averaged over (three at 25-30 fps) and compared with 0.1 s before.
Prints the change's median, 90th percentile and maximum and the share of frames above ``lips_talking`` (0.04).
"""
import sys

import numpy as np
import pandas as pd

from frl_core.faces.au_regions import lip_opening
from frl_core.spotting.config import SpotterConfig, temporal_half

frames = pd.read_csv(sys.argv[1])
fps = float(sys.argv[2]) if len(sys.argv) > 2 else 30.0
columns = [c for k in range(68) for c in (f"lm{k}_x", f"lm{k}_y")]
found = frames[frames["face_found"] == 1]
opening = np.array([lip_opening(row.reshape(68, 2)) for row in found[columns].to_numpy(float)])
half = temporal_half(SpotterConfig().temporal_s, fps)
mean = np.convolve(opening, np.ones(2 * half + 1) / (2 * half + 1), "valid")
lag = max(1, int(round(0.1 * fps)))
change = np.abs(mean[lag:] - mean[:-lag])
print(f"{sys.argv[1]}: {len(opening)} frames with a face; opening median {np.median(opening):.3f}; change over "
      f"{lag} frames: median {np.median(change):.4f}, p90 {np.percentile(change, 90):.4f}, max {change.max():.4f}; "
      f"above {SpotterConfig().lips_talking:g} in {np.mean(change > SpotterConfig().lips_talking):.0%} of frames")
