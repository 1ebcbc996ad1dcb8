"""The turn (yaw, pitch) the spotter's robust fit reads on a still head, on the first block field (measured under the
whole drift) and on the second (measured again once the similarity is taken out): the rendered talking benchmark's
sequence without talking, one face, every pair the spotter scores.

    PYTHONPATH=. python results/head_turn_thirty_ninth_stop/first_field_turn.py [FACE]   (default 4: casme2/sub08)
"""
import math
import os
import runpy
import sys

import numpy as np

from frl_core.spotting import kernels, motion

read = {"first": [], "second": []}
score_and_regions = motion.MotionModel.score_and_regions


def logged(self, a, b, *args, **kwargs):
    u = np.empty((self.n * self.n, 2))
    kernels.block_lk(a, b, self.pixel_weight, self.block, self._count, self.regularization, u)
    fit, keep, rounds = self._fit_index, self.global_keep, self.global_rounds
    _, p, q = kernels.robust_similarity_turn(u, fit, self.design, self.block_depth, keep, rounds)
    read["first"].append((math.degrees(p / self.size), math.degrees(q / self.size)))
    coef = kernels.robust_similarity(u, fit, self.design, keep, rounds)
    back = np.empty_like(b)
    kernels.warp_back(b, coef, back, 0.0, 0.0, self.pixel_depth)
    kernels.block_lk(a, back, self.pixel_weight, self.block, self._count, self.regularization, u)
    _, p, q = kernels.robust_similarity_turn(u, fit, self.design, self.block_depth, keep, rounds)
    read["second"].append((math.degrees(p / self.size), math.degrees(q / self.size)))
    return score_and_regions(self, a, b, *args, **kwargs)


motion.MotionModel.score_and_regions = logged
face = sys.argv[1] if len(sys.argv) > 1 else "4"
os.environ["ONLY"] = f"{face},0"
sys.argv = ["speech_bench.py", "12700", "mp4v", "0"]
try:
    runpy.run_path(os.path.join(os.path.dirname(__file__), "..", "speech_thirtieth_stop", "speech_bench.py"),
                   run_name="__main__")
finally:
    shrink = motion.TURN_SHRINK_DEG
    for field, turns in read.items():
        a = np.abs(np.array(turns))
        print(f"{field} field, {len(a)} pairs: |yaw| median {np.median(a[:, 0]):.2f} p90 {np.percentile(a[:, 0], 90):.2f} "
              f"max {a[:, 0].max():.2f}; |pitch| median {np.median(a[:, 1]):.2f} p90 {np.percentile(a[:, 1], 90):.2f} "
              f"max {a[:, 1].max():.2f} degrees; beyond the {shrink:g}-degree shrink: {(a.max(1) > shrink).mean():.1%}")
