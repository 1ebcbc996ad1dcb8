"""The spotter's settings and what it reports."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

LOG_OFFSET = 64.0
LOG_SCALE = 128.0
CANONICAL_SIZE = 224
"""Scores are expressed in pixels of a canonical face of this side."""


TURN_SHRINK_DEG = 0.4
"""The head's turn in depth (yaw, pitch) between two faces is head motion too: it moves the nose against the cheeks,
which no similarity takes out, so the global fit can have two more terms, a displacement in proportion to a
generic face's depth. A movement of a still head leaks a little into them, so the fitted turn is moved this many
degrees towards none about each axis before it is taken out; a turn within it is none."""


@dataclass
class SpotterConfig:
    """Windows, score resolution and the adaptive threshold."""

    window_s: float = 0.6
    """Micro window: references this many seconds before and after (longer than a micro-expression)."""
    macro_window_s: float = 2.0
    """Macro window: the same for longer movements (0 turns macro spotting off)."""
    macro_rate_hz: float = 15.0
    """The macro track scores every Nth face, about this many a second (0 = every face). A
    macro-expression lasts more than half a second, so 15 scores a second still sample it densely,
    and the track costs half as much at 30 fps and a tenth at 200 fps. Its onset, apex and offset
    then fall on those frames."""
    micro_max_s: float = 0.5
    """Intervals up to this long are micro-expressions, longer ones macro-expressions."""
    macro_max_s: float = 4.0
    """Longest interval reported; a longer movement is cut at this length."""
    min_duration_s: float = 0.1
    """Shorter intervals are discarded (noise)."""
    threshold: float | None = None
    """A fixed score threshold (pixels); None adapts it to the sequence."""
    threshold_k: float = 4.0
    """Adaptive threshold: median + k x robust standard deviation of the score (4 since the tracker's
    landmark smoothing took the jitter that 5 had to stand above; docs/recognition.md)."""
    min_threshold: float = 0.3
    """The adaptive threshold never drops below this (pixels of a 224-pixel face)."""
    warmup_s: float = 4.0
    """For this long from the start of a stream the threshold never drops below ``warmup_threshold``: the
    block weights and the threshold's own statistics are still being learnt, and the first seconds gave
    most false intervals of a lower floor (docs/recognition.md)."""
    warmup_threshold: float = 0.35
    """The threshold's floor during ``warmup_s`` (pixels of a 224-pixel face)."""
    min_history_s: float = 1.0
    """No interval opens before the threshold's statistics have seen this many seconds of scores (0: from
    the first score). What is unusual is judged against what came before, and a stream's first second
    holds the tracker settling and, in encoded video, the first frames after the key frame, which the
    first window's scores compare with: most false intervals of the labelled sets and of the demo
    re-encoded as HEVC, VP8 and heavy H.264 fell there (docs/recognition.md, "A stream's first second")."""
    macro_full_window_history: bool = True
    """The long window's threshold learns ``min_history_s`` of scores after its window has filled once before it
    judges any. Until then each face is compared with the stream's first over a shorter window, and a head turning
    away from that first pose raises those scores steadily: judged against a threshold learnt from a second of
    them, half the false intervals of turning heads opened in a stream's first five seconds (docs/recognition.md,
    "The long window's first seconds"). False judges them after ``min_history_s`` as the short window does."""
    history_s: float = 20.0
    """Seconds of score history behind the adaptive threshold."""
    boundary_fraction: float = 0.12
    """Onset/offset: where the score falls to this fraction of the peak above the baseline."""
    valley_fraction: float = 0.5
    """Onset/offset also stop at a dip of the score below this fraction of the peak above the baseline
    (a movement's rise and fall are monotonic; a plateau of noise or another movement beyond the dip is
    not part of it). 0 turns this off."""
    boundary_pad_s: float = 1 / 15
    """Onset and offset are moved this much outwards from where the score crosses the boundary level: two
    frames at 30 fps, where it was tuned (0.05 s had rounded to two there, but to one frame at 25 fps and
    three at 60, and intervals at those rates came out too short for the MEGC overlap)."""
    end_gap_s: float = 0.1
    """A candidate closes after the score stays below its boundary level this long."""
    work_size: int = 96
    """Side of the shrunk face the motion is measured on."""
    block: int = 8
    """Block side (pixels of the shrunk face)."""
    top_k: int = 3
    """Blocks averaged into the score."""
    spatial_smoothing: float = 0.5
    """Weight of each neighbouring block when block displacements are averaged (0 = off, 1 = 3x3 box)."""
    global_motion: str = "similarity"
    """What is taken out as head motion: ``similarity`` (shift, roll, scale) or ``affine`` (also a stretch
    along one axis, which takes a brow raise or a jaw drop for head motion)."""
    global_keep: float = 0.6
    """The global motion is refitted on this share of the blocks that fit it best (an expression moves
    the rest)."""
    global_rounds: int = 3
    """How many times the global motion is refitted."""
    head_turn: bool = True
    """Also take the head's turn in depth out of the spotter's global motion, as registration does
    (``TURN_SHRINK_DEG``): real heads turn a few degrees as they move and talk, and the nose moving against the
    cheeks was spotted as facial motion (docs/recognition.md, "Real heads turn in depth"). False leaves the turns'
    parallax in, as the spotter was before."""
    block_noise: bool = True
    """Weigh every AU block by its own noise: its typical score-window magnitude in the recent past, against
    that of the median block. Blocks on hair edges, nostrils or compression artefacts move by a few
    tenths of a pixel all the time; without the weights they, not the face, decide the score."""
    blur_sigma: float = 1.0
    """Gaussian blur of the shrunk face (pixels), against noise and for a smoother motion estimate."""
    small_face_upscale: float = 1.4
    """A stream whose first face the alignment enlarges this much or more (aligned pixels of a 224-px face per
    frame pixel; about 80 px or fewer between the eyes in the frame) is spotted with ``blur_sigma`` times
    ``small_face_blur`` (``sized_for``): its shrunk face averages fewer frame pixels, so each holds more sensor
    and codec noise, and the eye exclusion widens with the blur. Faces at a usual distance are enlarged less
    and are spotted as before (docs/recognition.md, "Small faces"). 0 turns this off."""
    small_face_blur: float = 1.5
    """What ``blur_sigma`` is multiplied by for a small face."""
    regularization: float = 1.0
    """Ridge term of the block motion estimate (squared intensity gradient per pixel)."""
    eye_margin: float = 0.06
    """Eye interiors and lids, excluded against blinks: margin around each eye (fraction of the face)."""
    temporal_s: float = 0.1
    """Faces are averaged over this many seconds (centred) before comparison, against sensor noise: the
    odd number of frames closest to it (3 at 30 fps, 21 at 200 fps; :func:`temporal_half`)."""
    exposure_s: float = 20.0
    """Every face is scaled so its mean grey level inside the face (eyes and the crop's outer ring out) is a
    reference that follows the stream's own level with this time constant, in seconds (0 = off). A webcam's
    automatic exposure changes the gain by 5-20 % within a few frames; on the log scale with its dark-pixel
    offset a gain is not the uniform offset the motion estimate discounts, and a 13 % step doubled the score
    of a still face (docs/recognition.md, "A webcam's automatic exposure")."""
    speech_train: int = 3
    """Micro intervals whose motion is mostly at the mouth and chin (more than at the brows, eyes and nose), in
    a train of this many or more such intervals with the mouth never still for longer than ``speech_gap_s``
    from one to the next, are speech, not micro-expressions, and are left out (``StreamingSpotter.speech``);
    0 keeps every interval (1 is refused). Each syllable opens the lips and jaw for about a fifth of a second;
    on the labelled benchmark with two 1.5-3 s stretches of talking added to each 20 s sequence they gave
    114-125 false intervals beside 36 true ones, 0-2 with the filter, and no labelled movement was lost. With
    the filter on the brows are also spotted on their own, so a brow movement made while talking is kept
    (docs/recognition.md, "Talking" and "Talking on")."""
    speech_gap_s: float = 0.5
    """Longest stillness of the mouth inside a train of speech, in seconds. The mouth is still where its
    motion against the face a tenth of a second before stays under half the threshold or under that of the
    rest of the face, and the lips' opening changed by no more than ``lips_talking``; syllables that stay under
    the threshold still move it, and join a train. A mouth movement this close to talking is taken for part of
    it."""
    lips_talking: float = 0.04
    """The mouth also counts as moving (``speech_gap_s``) where the lips' opening, when the caller gives it
    (``StreamingSpotter.push``: the inner lips' gap in inter-ocular distances), changed by more than this
    against a tenth of a second before: a syllable's opening or closing. Unlike the motion, this needs no
    threshold learnt from the stream and is not taken by a head turn (0 turns it off)."""
    log_intensity: bool = True
    """Measure motion on log intensities: a lighting change multiplies intensities, and on a log scale
    that becomes the per-block offset the motion estimate already discounts."""


@dataclass(frozen=True)
class SpottedInterval:
    """One spotted movement: frame indices and the peak two-sided score."""

    onset: int
    apex: int
    offset: int
    score: float
    kind: str
    reference: int | None = None
    """The frame the apex is to be compared with when it is not the onset (None: the onset). A movement made
    while talking: the frame shortly before it whose mouth looks most like the apex's, so that the syllable in
    between is not read as part of the movement."""

    @property
    def length(self) -> int:
        return self.offset - self.onset + 1


@dataclass
class SpotStep:
    """What one pushed frame produced."""

    score: float
    """One-sided micro-window score against the window's reference frame (nan while the window fills
    or without a face). It belongs to the frame ``temporal_s / 2`` before the pushed one (the faces
    are averaged over a centred window first): one frame at 30 fps."""
    threshold: float
    """The current adaptive threshold on the two-sided score."""
    intervals: list[SpottedInterval] = field(default_factory=list)
    """Intervals completed with this frame."""
    decided: list[tuple[int, float]] = field(default_factory=list)
    """(frame index, two-sided micro score) of the earlier frames whose score this frame completed (one
    frame, ``window_s`` plus ``temporal_s / 2`` back; several after a gap). This is the score the threshold
    applies to: a movement's echo, which the one-sided ``score`` shows a window later, is not in it."""
    regions: np.ndarray | None = None
    """Residual motion (head motion out) in each AU region behind ``score``, canonical-face pixels,
    ``au_regions.REGION_NAMES`` order; None when ``score`` is nan."""


def temporal_half(temporal_s: float, fps: float) -> int:
    """Frames on each side of the centre in the ``temporal_s`` face average: ``2 * half + 1`` frames span
    ``temporal_s`` as closely as an odd count can."""
    return max(0, int(round((float(temporal_s) * float(fps) - 1.0) / 2.0)))


class SpotterError(ValueError):
    """Bad spotter input (frame rate, face size)."""


def sized_for(config: SpotterConfig, upscale: float | None) -> SpotterConfig:
    """The spotter settings for a stream whose face the alignment enlarges ``upscale`` times
    (``SpotterConfig.small_face_upscale``); ``config`` itself when the face is not small."""
    if (upscale is None or not math.isfinite(upscale) or config.small_face_upscale <= 0
            or upscale < config.small_face_upscale):
        return config
    return replace(config, blur_sigma=config.blur_sigma * config.small_face_blur)
