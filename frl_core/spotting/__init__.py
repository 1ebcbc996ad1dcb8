"""Sliding-window apex spotting on aligned faces, streaming or offline.

Motion score. Each aligned face is shrunk to ``work_size``, lightly blurred and averaged over a short
centred time window (``temporal_s``, against sensor noise). For a pair of frames the displacement of
every block is estimated by a Lucas-Kanade step with a brightness term (lighting changes are not
motion) and a ridge term (textureless skin says nothing). What alignment left of head motion and
landmark jitter moves the whole face coherently, an action unit moves one region: a global similarity
motion (shift, roll, scale; ``global_motion``) is fitted robustly over the blocks, the second frame is
warped back by it and the blocks are measured again. An affine model would also take a stretch for head
motion, and a brow raise or a jaw drop on a still face is nearly one. Each block's residual is averaged
with its face neighbours (``spatial_smoothing``; hair and background at the crop's edge and the eyes
are left out), weighed by that block's own noise level in the recent past (``block_noise``: edges,
nostrils and compression artefacts wander all the time, flat skin does not), and the score is the mean
of the ``top_k`` strongest AU-region blocks (``au_regions``; eyes, lids and the crop's outer ring
excluded), in pixels of a 224-pixel canonical face.

Windows. Frame ``i`` is compared with its references ``i - W`` and ``i + W`` (``W`` = the window in
frames, set in seconds so it adapts to 30 fps webcams and 200 fps research cameras); the two-sided
score is the smaller of the two, less how far the two references are apart beyond the noise of any
two still faces a window apart. A movement shorter
than ``W`` has neutral, alike references on both sides, so the score follows its intensity from onset
through apex to offset; the echo that a one-sided comparison leaves ``W`` frames later, and the false
score of a neutral frame between two other movements, cancel. Two windows run side by side: a short
one (``window_s``) for micro-expressions and a long one (``macro_window_s``) for macro-expressions;
the long one scores only about ``macro_rate_hz`` faces a second, enough for movements over half a second.
An interval up to ``micro_max_s`` long is micro, a longer one macro; a long-window interval that the
short window saw as one short movement stays micro, and micro intervals inside a macro one are dropped.
Within a window of the start the first face is the backward reference, and at the end of the input
the last face is the forward one (a shorter window there): a dataset clip or a recording cut close to
a movement still has it spotted.

Detection. The threshold adapts to the sequence: running median plus ``threshold_k`` robust standard
deviations (MAD) of the two-sided score, never below ``min_threshold`` (nor, for the first ``warmup_s`` of
scores, while the block weights and these statistics are still being learnt, below ``warmup_threshold``).
The long window scores only some faces; it reads the mean of those it skips. A crossing opens a candidate;
its peak is the apex; onset and offset are where the score falls back to ``boundary_fraction`` of the
peak's height above the baseline, or where it dips below ``valley_fraction`` of that height and rises
again (weaker motion beyond the dip is not part of the movement), padded by ``boundary_pad_s``, and never
reaching back into the previous interval.

Streaming needs ``macro_window_s`` (plus ``temporal_s / 2``) of look-ahead and keeps bounded state;
``max_lag_frames`` says how far back from the newest frame a completed interval can reach. Offline
spotting scores the whole sequence and takes its threshold from the whole score distribution.

Limits: two movements closer than the window interfere; a macro-expression longer than
``macro_window_s`` is seen only in its rise and fall.
"""

from frl_core.spotting.config import SpotStep, SpottedInterval, SpotterConfig, SpotterError, sized_for
from frl_core.spotting.detector import macro_stride, robust_threshold
from frl_core.spotting.motion import MotionModel, motion_scores
from frl_core.spotting.offline import spot_offline
from frl_core.spotting.streaming import StreamingSpotter

__all__ = [
    "MotionModel",
    "SpotStep",
    "SpottedInterval",
    "SpotterConfig",
    "sized_for",
    "SpotterError",
    "StreamingSpotter",
    "macro_stride",
    "motion_scores",
    "robust_threshold",
    "spot_offline",
]
