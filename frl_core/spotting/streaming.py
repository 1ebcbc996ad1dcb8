"""The streaming spotter: one aligned face at a time in, completed intervals out, bounded state."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import replace

import numpy as np

from frl_core.faces.au_regions import REGION_NAMES
from frl_core.spotting.config import SpotStep, SpottedInterval, SpotterConfig, SpotterError, temporal_half
from frl_core.spotting.detector import (Detector, agreement_corrected, in_frames, is_macro, macro_stride, overlaps,
                                        window_steps)
from frl_core.spotting.motion import (SPOTTING_REGION_NAMES, BlockNoise, ExposureReference, MotionModel, TemporalMean,
                                      stride_mean)

_MOUTH = [SPOTTING_REGION_NAMES.index(n) for n in ("right_mouth_corner", "left_mouth_corner", "chin", "upper_lip")]
_ABOVE_MOUTH = [SPOTTING_REGION_NAMES.index(n) for n in ("right_brow_eye", "left_brow_eye", "nose")]
_BROWS = [SPOTTING_REGION_NAMES.index(n) for n in ("right_brow_eye", "left_brow_eye")]
_CORNERS = [SPOTTING_REGION_NAMES.index(n) for n in ("right_mouth_corner", "left_mouth_corner")]
_CHIN = SPOTTING_REGION_NAMES.index("chin")
_SYLLABLE_S = 8 / 30
"""About a syllable's length: while talking, a lip-corner rise that lasts no longer is taken as speech (eight
frames at 30 fps, where it was tuned and where 0.25 s rounded to eight)."""
_JAW_STILL = 0.2
"""Chin motion (px) below which a lip-corner comparison is not read against other faces (``_jaw_matched``)."""


def _lift(vectors: np.ndarray) -> tuple[float, float]:
    """How far the lip corners (their mean) and the chin rose, from each region's motion vector (y down)."""
    return -0.5 * float(vectors[_CORNERS[0], 1] + vectors[_CORNERS[1], 1]), -float(vectors[_CHIN, 1])


class _Track:
    """One window length: keeps the shrunk faces it still needs and turns them into two-sided scores.

    With ``stride`` > 1 it is fed every ``stride``-th frame only (frame indices that are multiples of
    it); its window, detector and bookkeeping count those steps, and its intervals come out in frames.
    """

    def __init__(self, fps: float, config: SpotterConfig, window_s: float, model: MotionModel,
                 fixed_threshold: float | None, stride: int = 1, directions: bool = False) -> None:
        self.fps = fps
        self.config = config
        self.stride = max(1, int(stride))
        self.window = window_steps(window_s, fps, self.stride)
        """The window in this track's steps (frames when ``stride`` is 1)."""
        self.model = model
        self.gate = float(config.min_threshold)
        self.faces: deque[tuple[int, np.ndarray | None]] = deque(maxlen=2 * self.window + 1)
        self.back: deque[tuple[int, float, bool]] = deque(maxlen=self.window + 1)
        """(step, one-sided score, whether it was weighed with learnt block weights)."""
        self.first: tuple[int, np.ndarray | None] | None = None
        """The first face this track saw: the backward reference of the frames in its first window."""
        self.detector = Detector(fps / self.stride, config, self.window, fixed_threshold)
        self.regions: np.ndarray | None = None
        """Residual motion per region (``SPOTTING_REGION_NAMES``) behind the last pushed frame's one-sided score
        (None with it nan)."""
        self.directions = directions
        self.vectors: np.ndarray | None = None
        """(regions, 2): which way each region moved in that comparison (x, y; y down); only with ``directions``
        (the speech filter reads them, from the micro track)."""
        steps_per_s = fps / self.stride
        self.noise = BlockNoise(model.au_block_count, int(round(config.history_s * steps_per_s)),
                                update_every=int(round(steps_per_s / 2)), weigh_blocks=config.block_noise)
        self._magnitudes = np.empty(model.au_block_count, np.float32)

    @property
    def weights(self) -> np.ndarray:
        """The block weights the scores use now."""
        return self.noise.weights

    def _score_back(self, ref: np.ndarray, face: np.ndarray, step: int) -> tuple[float, np.ndarray]:
        """A one-sided score; it and its block magnitudes teach the noise model."""
        self.vectors = np.empty((len(SPOTTING_REGION_NAMES), 2)) if self.directions else None
        score, regions = self.model.score_and_regions(ref, face, self.weights, self._magnitudes, vectors=self.vectors)
        self.noise.add(self._magnitudes, score, step)
        return score, regions

    def ignore(self, first: int, last: int) -> None:
        """Steps ``first``..``last`` are not noise (talking): neither the threshold nor the block weights
        learn from them, nor from the pairs that reach into them."""
        self.detector.ignore(first, last)
        self.noise.ignore(first, last + self.window)

    def _settled(self, j: int, back_j: float, weighed: bool) -> float:
        """Frame ``j``'s one-sided score under the block weights learnt since, if it was scored before any.

        The first scores of a stream are taken with every block weighed alike (the noise model has not
        seen enough pairs yet), so noisy blocks decide them: on the labelled sets they were 0.1-0.2 px
        above the later noise, and most false intervals of a stream's first second came from them. By the
        time frame ``j`` is decided, a window later, the weights are usually known.
        """
        if weighed or not self.noise.ready or math.isnan(back_j):
            return back_j
        before, face = self._back_reference(j), dict(self.faces).get(j)
        if before is None or face is None:
            return back_j
        return self.model.score(before, face, self.weights)

    def in_frames(self, intervals: list[SpottedInterval]) -> list[SpottedInterval]:
        return in_frames(intervals, self.stride, self.fps, self.config)

    def push(self, index: int, face: np.ndarray | None
             ) -> tuple[float, tuple[int, float] | None, list[SpottedInterval]]:
        """Returns the pushed frame's one-sided score, the (step, two-sided score) it completed, and the
        intervals this frame closed."""
        index //= self.stride
        self.faces.append((index, face))
        if self.first is None:
            self.first = (index, face)
        back = math.nan
        weighed = self.noise.ready
        self.regions = self.vectors = None
        if len(self.faces) >= self.window + 1:
            ref_index, ref = self.faces[-1 - self.window]
            if ref is not None and face is not None and index - ref_index == self.window:
                back, self.regions = self._score_back(ref, face, index)
        elif self.first[1] is not None and face is not None and index > self.first[0]:
            # Less than a window from the start: the first face is the reference (a shorter window).
            back, self.regions = self._score_back(self.first[1], face, index)
        self.back.append((index, back, weighed))
        out: list[SpottedInterval] = []
        decided: tuple[int, float] | None = None
        if len(self.back) == self.window + 1:
            j, back_j, weighed_j = self.back[0]
            back_j = self._settled(j, back_j, weighed_j)
            # Frame j's forward comparison (j with j + W) is the pushed frame's backward one.
            c = min(back_j, back) if not (math.isnan(back_j) or math.isnan(back)) else math.nan
            if c > self.gate:
                before = self._back_reference(j)
                if before is not None:
                    c = agreement_corrected(c, lambda: self.model.score(before, face, self.weights), self.noise.level)
            out = self.in_frames(self.detector.push(j, c))
            decided = (j, c)
        return back, decided, out

    def _back_reference(self, j: int) -> np.ndarray | None:
        """The face frame ``j`` was compared with before it: W steps back, or the first one near the start."""
        if self.first is not None and j - self.first[0] < self.window:
            return self.first[1]
        for k, face in self.faces:
            if k == j - self.window:
                return face
        return None

    def flush(self) -> list[SpottedInterval]:
        """End of input: the frames less than a window from the end are compared forward with the last
        face (a shorter window), then open candidates close."""
        out: list[SpottedInterval] = []
        if len(self.back) == self.window + 1 and self.faces:
            last_index, last = self.faces[-1]
            faces = dict(self.faces)
            for j, back_j, weighed_j in list(self.back)[1:]:
                back_j = self._settled(j, back_j, weighed_j)
                face = faces.get(j)
                c = math.nan
                if j < last_index and face is not None and last is not None and not math.isnan(back_j):
                    c = min(back_j, self.model.score(face, last, self.weights))
                    before = self._back_reference(j)
                    if c > self.gate and before is not None:
                        c = agreement_corrected(c, lambda: self.model.score(before, last, self.weights),
                                                self.noise.level)
                out.extend(self.in_frames(self.detector.push(j, c)))
        return out + self.in_frames(self.detector.finish())


class StreamingSpotter:
    """Frame-by-frame spotting with bounded look-ahead and memory."""

    def __init__(self, fps: float, config: SpotterConfig | None = None) -> None:
        if not (fps > 0 and math.isfinite(fps)):
            raise SpotterError(f"frame rate must be positive, got {fps}")
        self.fps = float(fps)
        self.config = config = config or SpotterConfig()
        self.model = MotionModel(config)
        self.exposure = ExposureReference.for_stream(config, self.fps)
        self.smoother = TemporalMean(temporal_half(config.temporal_s, self.fps))
        fixed = config.threshold
        self.micro = _Track(self.fps, config, config.window_s, self.model, fixed, directions=config.speech_train >= 2)
        self.macro = (_Track(self.fps, config, config.macro_window_s, self.model, fixed,
                             stride=macro_stride(self.fps, config))
                      if config.macro_window_s > config.window_s else None)
        if self.macro is not None and config.macro_full_window_history:
            self.macro.detector.min_history += self.macro.window
        self.micro_max = config.micro_max_s * self.fps
        if self.macro is not None:
            lookahead = self.macro.window * self.macro.stride + self.macro.stride
        else:
            lookahead = self.micro.window
        lookahead += self.smoother.half
        det = self.micro.detector
        self.max_lag_frames = int(lookahead + det.max_len + 2 * det.end_gap + 2 * det.pad + 2)
        """How many frames before the newest pushed one a completed interval can start."""
        if self.macro is not None:  # a stream's first intervals wait for the long window's first judgement
            self.max_lag_frames = max(self.max_lag_frames,
                                      int(self.macro.stride * self.macro.detector.min_history + lookahead + 2))
        self.max_lookback_frames = self.max_lag_frames + (self.micro.window if config.speech_train >= 2 else 0)
        """How many frames before the newest pushed one a completed interval's onset or reference frame can lie
        (``SpottedInterval.reference``: up to a micro window before the onset)."""
        self._pending_micro: list[SpottedInterval] = []
        self._macro_intervals: deque[SpottedInterval] = deque(maxlen=16)
        self._released_micro: deque[SpottedInterval] = deque(maxlen=16)
        self._last_index: int | None = None
        self.faces_pushed = 0
        """Frames pushed with a face so far (0: nothing is learnt yet, the spotter can still be swapped)."""
        self._since_macro: list[np.ndarray | None] = []
        """The smoothed faces since the macro track's last step: it reads their mean (see ``stride_mean``)."""
        if config.speech_train < 0 or config.speech_train == 1 or config.speech_gap_s < 0:
            raise SpotterError("speech_train must be 0 (off) or 2 or more, speech_gap_s not negative; got "
                               f"{config.speech_train} and {config.speech_gap_s:g}")
        self._regions: deque[tuple[int, np.ndarray | None, np.ndarray | None]] = deque(
            maxlen=int(self.max_lag_frames) + 1)
        """Each recent frame's residual motion per region against the face a micro window before it: its size
        and its direction (``_Track.vectors``)."""
        self._speech_gap = config.speech_gap_s * self.fps
        self._speech_hold = (round((config.speech_train - 1) * (config.speech_gap_s + config.micro_max_s) * self.fps)
                             if config.speech_train > 1 else 0)
        """How long after its offset a micro interval waits for the rest of a train it may start."""
        self._mouth: dict[tuple[int, int], bool] = {}
        """Whether each recent interval (by onset and apex) moved mostly at the mouth."""
        self.speech: list[SpottedInterval] = []
        """Intervals left out as speech (``SpotterConfig.speech_train``; micro ones, and long-window ones of about a
        micro-expression's length, ``_spoken_macro``); the caller empties it."""
        self._pauses: deque[tuple[int, int]] = deque(maxlen=64)
        """Recent stretches (first, last frame) longer than ``speech_gap_s`` where the mouth was still."""
        self._pauses_from = -1
        """Frames from here on are in ``_pauses``; older ones are no longer known."""
        self._still_from: int | None = None
        """The first frame of the stretch without mouth motion going on now (None: the mouth moves)."""
        self._mouth_seen = -1
        """The last frame whose mouth motion is known."""
        self._first_mouth: int | None = None
        """The first frame whose mouth motion is known (the stream's start)."""
        self._syllable_lag = max(1, int(round(0.1 * self.fps)))
        """Frames back to the face a syllable's motion is measured against (see ``_follow_mouth``)."""
        self._brows = (Detector(self.fps, config, self.micro.window, config.threshold)
                       if config.speech_train >= 2 else None)
        """Spots the brows alone, their motion against the faces a window before and after: a movement made
        while talking, which the syllables hide in the score (a syllable does not move the brows)."""
        self._pending_brows: list[SpottedInterval] = []
        corners = replace(config, min_duration_s=max(config.min_duration_s, _SYLLABLE_S))
        self._corners = (Detector(self.fps, corners, self.micro.window, config.threshold)
                         if config.speech_train >= 2 else None)
        """Spots the lip corners rising more than the jaw's motion explains: a smile made while talking. A
        syllable moves the corners with the jaw and lips; how much, ``_jaw_coupling`` learns from the talking.
        Its threshold learns only from frames of talking: what is left of the syllables' motion there (one
        share of the jaw's motion does not fit every syllable) is the noise a smile must stand above. The
        rises left standing above it were a syllable long (one syllable's lips against the next's, a window
        apart), so a rise must last longer than ``_SYLLABLE_S``."""
        self._pending_corners: list[SpottedInterval] = []
        self._corners_down = (Detector(self.fps, corners, self.micro.window, config.threshold)
                              if config.speech_train >= 2 else None)
        """The same for the lip corners pulled down more than the jaw's motion explains (a lip-corner depressor or
        a chin raise made while talking); its own threshold, learnt from the talking's downward corner motion
        (a spread syllable pulls the corners down a little with no jaw motion)."""
        self._pending_corners_down: list[SpottedInterval] = []
        for corners_detector in (self._corners, self._corners_down):
            if corners_detector is not None:
                corners_detector.positive_only = True
        self._hidden_settle = int(round(config.min_history_s * self.fps))
        """Frames from the stream's start in which no brow or lip-corner interval is released: those detectors
        read the motion against what they learnt of this face's talking (the jaw's share and how far off it is,
        their thresholds), which a stream that starts mid-sentence has not shown them yet."""
        self._jaw_sums = [0.0, 0.0, 0.0]
        """Sums, fading over ``history_s``, over frames where the mouth moves: the corners' rise times the
        chin's, the chin's rise squared (a least-squares fit of one on the other), and what the fit leaves of
        the corners' rise times the chin's rise, both unsigned (how far off the fit is per pixel of chin)."""
        self._jaw_keep = 1.0 - 1.0 / max(1.0, config.history_s * self.fps)
        w = self.micro.window
        self._jaw_steps = sorted({k for k in (round(w / 6), round(w / 3)) if 0 < k < w})
        """How much nearer than a window ``_jaw_matched`` also looks (a sixth and a third of one)."""
        self._mouth_moved: deque[int] = deque(
            maxlen=int(self.max_lag_frames) + 2 * int(round(self.fps)) if config.speech_train >= 2 else 1)
        """Recent frames where the mouth moved (``_follow_mouth``), back to a second before the oldest interval
        still held (``_beside_talking``)."""
        self._faces_back: deque[tuple[int, np.ndarray | None]] = deque(
            maxlen=4 * self.micro.window + int(self.micro_max) + 2 if config.speech_train >= 2 else 1)
        """Recent faces, far enough back to hold a window before a brow or lip-corner interval as it closes
        (``_matched``)."""
        self._lips: deque[tuple[int, float]] = deque(maxlen=2 * (self.smoother.half + self._syllable_lag) + 2)
        """Recent frames' lip opening (``push``), back to a syllable before the frame ``_follow_mouth`` reads."""
        self._spoken: deque[SpottedInterval] = deque(maxlen=64)
        """Recent intervals left out as speech (``speech`` is emptied by the caller)."""
        self._kept: deque[SpottedInterval] = deque(maxlen=16)
        """Recent micro intervals released as movements."""
        self._relearnt: deque[list[int]] = deque(maxlen=16)
        """Recent stretches ([first, last] frame) the micro track's threshold judged while it was learning again
        after talking was forgotten (``Detector.relearning``)."""

    @property
    def threshold(self) -> float:
        return self.micro.detector.threshold

    def push(self, index: int, timestamp: float, aligned: np.ndarray | None, lips: float | None = None) -> SpotStep:
        """Add one frame (its aligned face, or None when no face); completed intervals come back. ``lips``: how
        far its lips stand apart (``frl_core.faces.au_regions.lip_opening``), when the caller knows it."""
        if self._last_index is not None and index <= self._last_index:
            raise SpotterError(f"frame indices must increase: got {index} after {self._last_index}")
        intervals: list[SpottedInterval] = []
        decided: list[tuple[int, float]] = []
        if self._last_index is not None and index > self._last_index + 1:
            for missing in range(self._last_index + 1, index):
                smoothed = self.smoother.push(missing, None)
                if smoothed is not None:
                    _, found, completed = self._push_prepared(*smoothed)
                    intervals.extend(found)
                    decided.extend(completed)
        self._last_index = index
        if lips is not None and math.isfinite(lips):
            self._lips.append((index, float(lips)))
        face = self.model.prepare(np.asarray(aligned), self.exposure) if aligned is not None else None
        self.faces_pushed += face is not None
        smoothed = self.smoother.push(index, face)
        score = math.nan
        regions = None
        if smoothed is not None:
            score, found, completed = self._push_prepared(*smoothed)
            regions = None if self.micro.regions is None else self.micro.regions[:len(REGION_NAMES)]
            intervals.extend(found)
            decided.extend(completed)
        return SpotStep(score=score, threshold=self.threshold, intervals=intervals, decided=decided, regions=regions)

    def _push_prepared(self, index: int, face: np.ndarray | None
                       ) -> tuple[float, list[SpottedInterval], list[tuple[int, float]]]:
        if self.config.speech_train >= 2:
            self.micro.detector.learn_above = self._talking_at(index - self.micro.window)
        score, completed, micro = self.micro.push(index, face)
        if completed is not None and self.micro.detector.relearning():
            if self._relearnt and self._relearnt[-1][1] == completed[0] - 1:
                self._relearnt[-1][1] = completed[0]
            else:
                self._relearnt.append([completed[0], completed[0]])
        self._regions.append((index, self.micro.regions, self.micro.vectors))
        if self.config.speech_train >= 2:
            self._faces_back.append((index, face))
            self._follow_mouth(index, face)
            self._follow_hidden(index)
        self._pending_micro.extend(micro)
        self._ignore_speech(micro)
        macro_done: list[SpottedInterval] = []
        if self.macro is not None:
            macro, stride = self.macro, self.macro.stride
            self._since_macro.append(face)
            if index % stride == 0:
                _, _, found = macro.push(index, stride_mean(self._since_macro, face))
                self._since_macro.clear()
                macro_done = self._macro_expressions(found)
                self._macro_intervals.extend(macro_done)
            # The macro track has decided every frame up to here; micro intervals before it are final.
            active = macro.detector.active
            decided = index - index % stride - stride * (macro.window + (macro.detector.end_gap if active else 0))
            if active:
                decided = min(decided, stride * macro.detector.start - 1)
            if macro.detector.backlog:  # its first scores are not judged yet
                decided = min(decided, stride * macro.detector.backlog[0][0] - 1)
        else:
            decided = index
        return score, self._release(decided, macro_done, index), [completed] if completed is not None else []

    def _release(self, decided: int, macro_done: list[SpottedInterval], index: int,
                 final: bool = False) -> list[SpottedInterval]:
        out: list[SpottedInterval] = []
        keep: list[SpottedInterval] = []
        # The last frame the micro track has judged: its intervals come out a window and more after their frames.
        det = self.micro.detector
        judged = index - self.micro.window
        if det.active:
            judged = min(judged, det.start - 1)
        if det.backlog:
            judged = min(judged, det.backlog[0][0] - 1)
        for iv in self._pending_micro:
            # Held while the long window may still call it part of a macro-expression, or, for a mouth
            # movement, while the rest of a train of speech it may begin can still come (until the micro track
            # has judged the frames where it would be: counted from the newest frame, a train whose members
            # crossed the threshold a second apart, as when the talking starts with the stream and the threshold
            # learns it, was cut before its third member came out), but never beyond the promised look-back (the
            # caller's buffer of faces).
            held = not final and (iv.offset > decided
                                  or (judged - iv.offset < self._speech_hold and self._at_mouth(iv)))
            if held and index + 1 - iv.onset < self.max_lag_frames:
                keep.append(iv)
            elif self._is_speech(iv):
                self.speech.append(iv)
                self._spoken.append(iv)
                self._released_micro.append(iv)
            elif not any(overlaps(iv, m) for m in self._macro_intervals):
                brows = self._brows_extent(iv)
                if brows is not None:
                    self._pending_brows.remove(brows)
                out.append(brows or iv)
                self._kept.append(brows or iv)
                self._released_micro.append(iv)
        self._pending_micro = keep
        out.extend(self._release_hidden(index, final))
        out.extend(macro_done)
        out.sort(key=lambda iv: iv.onset)
        return out

    def _brows_extent(self, iv: SpottedInterval) -> SpottedInterval | None:
        """The brows' own interval that holds a movement of the upper face made while talking, when it is longer:
        while talking the score's threshold sits high and a brow raise can come out of it as the few frames about
        its peak, where the brows' own motion, which syllables do not move, gives its extent."""
        if self.config.speech_train < 2 or self._at_mouth(iv) or not self._beside_talking(iv):
            return None
        return next((b for b in self._pending_brows
                     if b.onset <= iv.onset and iv.offset <= b.offset and b.length > iv.length), None)

    def _macro_expressions(self, found: list[SpottedInterval]) -> list[SpottedInterval]:
        """The long-window intervals that are macro-expressions (``is_macro``); those that are speech
        (``_spoken_macro``) go to ``speech`` instead."""
        out: list[SpottedInterval] = []
        micro = self._pending_micro + list(self._released_micro)
        for iv in found:
            if not is_macro(iv, micro):
                continue
            if self._spoken_macro(iv):
                self.speech.append(iv)
                self._spoken.append(iv)
            else:
                out.append(iv)
        return out

    def _spoken_macro(self, iv: SpottedInterval) -> bool:
        """Whether a long-window interval is speech: no longer than a micro-expression can be give or take one of
        the long window's steps at each end (each end is known to a step; at 25 fps a syllable's 13 frames read as
        0.52 s, a macro-expression, where at 30 fps they are 0.43 s; with one step in all, a 15-frame interval at
        the chin of a real talking clip at 25 fps came out), at the mouth and beside talking
        (``_mouth_beside_talking``)."""
        if self.macro is None:
            return False
        return iv.length <= self.micro_max + 2 * self.macro.stride and self._mouth_beside_talking(iv)

    def _at_mouth(self, iv: SpottedInterval) -> bool:
        """Whether the interval's motion at its apex is mostly at the mouth: its corners, the chin or the upper
        lip, more than at either brow or the nose."""
        key = (iv.onset, iv.apex)
        if key not in self._mouth:
            regions = next((r for j, r, _ in reversed(self._regions) if j == iv.apex), None)
            if len(self._mouth) > 64:
                self._mouth = {k: v for k, v in self._mouth.items() if k[0] >= iv.onset - self.max_lag_frames}
            self._mouth[key] = (regions is not None
                                and float(np.max(regions[_MOUTH])) > float(np.max(regions[_ABOVE_MOUTH])))
        return self._mouth[key]

    def _train(self, iv: SpottedInterval) -> list[SpottedInterval]:
        """The mouth movements that the interval is one of, the mouth never still for longer than
        ``speech_gap_s`` from one to the next (empty when it is not mostly at the mouth, or the filter is off)."""
        if self.config.speech_train < 2 or not self._at_mouth(iv):
            return []
        pool = sorted({(m.onset, m.offset): m for m in [*self._released_micro, *self._pending_micro]
                       if m is iv or self._at_mouth(m)}.values(), key=lambda m: m.onset)
        train: list[SpottedInterval] = []
        for m in pool:
            if train and self.mouth_still_between(max(t.offset for t in train), m.onset):
                if any(t is iv for t in train):
                    break
                train = []
            train.append(m)
        return train if any(t is iv for t in train) else []

    def _follow_mouth(self, index: int, face: np.ndarray | None) -> None:
        """Note where the mouth stops moving for longer than ``speech_gap_s``, so that a train of speech is
        joined across syllables that stayed under the threshold.

        The mouth moves in a frame when its motion against the face a tenth of a second before (a syllable's
        time; more than elsewhere on the face, above half the threshold) says so. Against the face a window
        before, as the score compares, each syllable echoed a window later, stillness of a second looked like
        talking, and mouth movements near talking were left out with it. Only looked at while the mouth
        moves against that earlier face or moved in the last frame: one more comparison, while talking. The lips
        opening or closing (``_lips_moved``) count too: real heads turn as they talk, and what a turn leaves at
        the brows and nose after the 2D registration, with a threshold that learnt the talking, kept most real
        syllables from counting."""
        self._mouth_seen = index
        if self._first_mouth is None:
            self._first_mouth = index
        regions, moving = self.micro.regions, False
        if face is not None and regions is not None and (self._still_from is None or self._mouth_moves(regions)):
            before = next((f for j, f in self.micro.faces if j == index - self._syllable_lag), None)
            if before is not None:
                moving = self._mouth_moves(self.model.score_and_regions(before, face, self.micro.weights)[1])
        moving = moving or self._lips_moved(index)
        if moving:
            self._mouth_moved.append(index)
        if moving and self.micro.vectors is not None:
            rise, jaw = _lift(self.micro.vectors)
            beta, _ = self._jaw_coupling()
            xy, yy, ey = (self._jaw_keep * v for v in self._jaw_sums)
            self._jaw_sums = [xy + rise * jaw, yy + jaw * jaw, ey + abs(rise - beta * jaw) * abs(jaw)]
        if not moving:
            if self._still_from is None:
                self._still_from = index
            return
        if self._still_from is not None and index - self._still_from > self._speech_gap:
            if len(self._pauses) == self._pauses.maxlen:
                self._pauses_from = self._pauses[0][1] + 1
            self._pauses.append((self._still_from, index - 1))
        self._still_from = None

    def _follow_hidden(self, index: int) -> None:
        """Feed the brows' and the lip corners' two-sided motion of the frame a window back: the smaller of its
        motion against the face a window before and the next window's frame's against it. The brows' is the
        mean of the two: one brow region jumping for a frame or two while talking (0.4 px, the other brow
        still) gave a false interval every 100 s or so of talking with the larger of the two."""
        if self._brows is None or self._corners is None or self._corners_down is None:
            return
        back = self.micro.window
        if len(self._regions) <= back:
            return
        j, before, lift_before = self._regions[-1 - back]
        _, now, lift_now = self._regions[-1]
        if index - j != back:
            return
        c = (min(float(np.mean(before[_BROWS])), float(np.mean(now[_BROWS])))
             if before is not None and now is not None else math.nan)
        self._pending_brows.extend(self._matched(iv, _MOUTH) for iv in self._brows.push(j, c))
        talking = False
        for k in reversed(self._mouth_moved):  # newest first: stop once they are more than a gap before j
            if k < j - self._speech_gap:
                break
            if k - j <= self._speech_gap:
                talking = True
                break
        up = down = math.nan
        if lift_before is not None and lift_now is not None:
            beta, spread = self._jaw_coupling()
            rise, jaw = _lift(lift_before)
            fall, jaw_back = _lift(lift_now)
            # Up towards frame j, then down again after it, beyond what the jaw moved the corners and beyond how
            # far off that share can be for this much jaw motion (none below zero: no rise is no rise). While
            # talking, each side is read against the face whose chin stood most nearly as at j (``_jaw_matched``).
            r, jr, f, jf = (self._jaw_matched(j, back, (rise, jaw), (fall, jaw_back)) if talking
                            else (rise, jaw, fall, jaw_back))
            up = max(0.0, min(r - beta * jr - spread * abs(jr), -(f - beta * jf) - spread * abs(jf)))
            off = spread * abs(jaw), spread * abs(jaw_back)
            # Down, then up again: the jaw's share only where the jaw stood more open at frame j. Lips pressed
            # together ("m", "b", "p") lift the chin without the corners; that they stayed is no depressor.
            down = max(0.0, min(-(rise - beta * min(jaw, 0.0)) - off[0], fall - beta * max(jaw_back, 0.0) - off[1]))
        self._pending_corners.extend(self._matched(iv, [_CHIN]) for iv in self._corners.push(j, up, learn=talking))
        self._pending_corners_down.extend(self._matched(iv, [_CHIN])
                                          for iv in self._corners_down.push(j, down, learn=talking))

    def _jaw_matched(self, j: int, back: int, before: tuple[float, float], after: tuple[float, float]
                     ) -> tuple[float, float, float, float]:
        """The lip corners' and the chin's rise towards frame ``j`` and after it, each against the face, of those
        a window, five sixths and two thirds of a window away on that side, whose chin stood most nearly as at
        ``j``. A window away the reference often stood in another syllable, and the jaw's share (with how far
        off it can be) then took most of a smile's rise. At most four more comparisons a frame, only while
        talking and only where the chin moved."""
        faces = dict(self._faces_back)
        face = faces.get(j)
        if face is None:
            return (*before, *after)
        vectors = np.empty((len(SPOTTING_REGION_NAMES), 2))
        best = [before, after]
        for side, sign in ((0, -1), (1, 1)):
            for step in self._jaw_steps:
                if abs(best[side][1]) < _JAW_STILL:
                    break
                other = faces.get(j + sign * (back - step))
                if other is None:
                    continue
                pair = (other, face) if sign < 0 else (face, other)
                self.model.score_and_regions(*pair, self.micro.weights, vectors=vectors)
                lift = _lift(vectors)
                if abs(lift[1]) < abs(best[side][1]):
                    best[side] = lift
        return (*best[0], *best[1])

    def _matched(self, iv: SpottedInterval, regions: list[int]) -> SpottedInterval:
        """The interval with a reference frame for its apex: of the frames from a window before its onset to
        the onset, the one whose ``regions`` (the mouth for the brows, the jaw for the lip corners) moved least
        against the apex. Compared with the onset, a movement made while talking was read with the syllable in
        between (a brow raise and a smile mid-sentence both labelled negative); compared with a frame where the
        mouth or jaw stood as at the apex, as what they are."""
        faces = dict(self._faces_back)
        apex = faces.get(iv.apex)
        if apex is None:
            return iv
        best, least = None, math.inf
        for r in range(iv.onset - self.micro.window, iv.onset + 1):
            face = faces.get(r)
            if face is None:
                continue
            moved = float(np.max(self.model.score_and_regions(face, apex)[1][regions]))
            if moved < least:
                best, least = r, moved
        return iv if best is None or best == iv.onset else replace(iv, reference=best)

    def _jaw_coupling(self) -> tuple[float, float]:
        """How far the lip corners rise per pixel the chin rises while the mouth moves, as learnt from this
        face's talking (0 to 1: the corners sit between the lips and move with a share of the jaw's motion;
        towards a half, the lips' midpoint, before much talking is seen), and how far off that is per pixel of
        chin: one share does not fit every syllable (lips rounded and parted move the corners more per pixel
        of chin than an open jaw)."""
        xy, yy, ey = self._jaw_sums
        return min(1.0, max(0.0, (xy + 0.5) / (yy + 1.0))), ey / (yy + 1.0)

    def _release_hidden(self, index: int, final: bool) -> list[SpottedInterval]:
        """Brow and lip-corner movements the score's intervals missed because talking hid them: those that
        overlap an interval left out as speech and no movement already released, and lip-corner rises and falls
        beside talking (``_beside_talking``) or judged while the score's threshold learnt again (``_relearning``)
        that overlap none: after talking that started with the stream the score's threshold is learning again, and
        a smile half a second or a second after the last syllable stayed under it. Held as a
        mouth interval is held, and while a micro interval they overlap is open or undecided; none that begins in
        the stream's first ``min_history_s`` (``_hidden_settle``)."""
        out: list[SpottedInterval] = []
        det = self.micro.detector
        settled = (self._first_mouth or 0) + self._hidden_settle
        for pending in (self._pending_brows, self._pending_corners, self._pending_corners_down):
            keep: list[SpottedInterval] = []
            for iv in pending:
                undecided = (index - iv.offset < self._speech_hold or (det.active and det.start <= iv.offset)
                             or any(overlaps(iv, m) for m in self._pending_micro))
                if not final and undecided and index + 1 - iv.onset < self.max_lag_frames:
                    keep.append(iv)
                elif (iv.onset >= settled
                      and (any(overlaps(iv, m) for m in self._spoken)
                           or (pending is not self._pending_brows and (self._beside_talking(iv) or self._relearning(iv))))
                      and not any(overlaps(iv, m) for m in [*self._kept, *self._macro_intervals])):
                    out.append(iv)
                    self._kept.append(iv)
            pending[:] = keep
        return out

    def _lips_moved(self, index: int) -> bool:
        """Whether the lips opened or closed by more than ``lips_talking`` in the tenth of a second before frame
        ``index`` (the mean of the opening over the frames the faces are averaged over, on both sides)."""
        if self.config.lips_talking <= 0 or not self._lips:
            return False
        half = self.smoother.half
        lips = dict(self._lips)

        def mean(j: int) -> float:
            values = [lips[k] for k in range(j - half, j + half + 1) if k in lips]
            return sum(values) / len(values) if values else math.nan

        change = abs(mean(index) - mean(index - self._syllable_lag))
        return change > self.config.lips_talking

    def _mouth_moves(self, regions: np.ndarray) -> bool:
        mouth = float(np.max(regions[_MOUTH]))
        return mouth > float(np.max(regions[_ABOVE_MOUTH])) and mouth > 0.5 * self.threshold

    def mouth_still_between(self, after: int, before: int) -> bool:
        """Whether the mouth was still for longer than ``speech_gap_s`` somewhere between two frames: a new
        train of speech, not the one before going on."""
        first, last = after + 1, before - 1
        if last - first + 1 <= self._speech_gap:
            return False
        if first < self._pauses_from:
            return True  # no longer known: the gap alone decides
        stretches = list(self._pauses)
        if self._still_from is not None:
            stretches.append((self._still_from, self._mouth_seen))
        return any(min(e, last) - max(s, first) + 1 > self._speech_gap for s, e in stretches)

    def _speech_train(self, iv: SpottedInterval) -> list[SpottedInterval]:
        """The train of speech the interval is one of: its train when ``speech_train`` or more long, else empty."""
        train = self._train(iv)
        return train if len(train) >= max(2, self.config.speech_train) else []

    def _is_speech(self, iv: SpottedInterval) -> bool:
        """Whether the interval is one of a train of ``speech_train`` or more mouth movements, or a mouth movement
        beside talking (``_beside_talking``)."""
        return bool(self._speech_train(iv)) or self._mouth_beside_talking(iv)

    def _mouth_beside_talking(self, iv: SpottedInterval) -> bool:
        """Whether the interval moved mostly at the mouth and lies beside talking: speech though no train formed."""
        return self.config.speech_train >= 2 and self._at_mouth(iv) and self._beside_talking(iv)

    def _beside_talking(self, iv: SpottedInterval) -> bool:
        """Whether the mouth kept moving through the whole second before the interval's onset or after its offset:
        in a third of its frames or more, never still for longer than ``speech_gap_s``. Where the threshold has
        learnt talking (a clip that starts mid-sentence) too few syllables cross it to make a train, and each one
        that did came out as a micro-expression; the mouth's own motion still says it is talking (in 11-30 of
        the second's frames where the threshold had learnt it; a quiet face's codec noise moved it in 2-3)."""
        around = int(round(self.fps))
        moved = set(self._mouth_moved)
        for first, last in ((iv.onset - around, iv.onset - 1), (iv.offset + 1, iv.offset + around)):
            if (self._first_mouth is not None and self._first_mouth <= first and last <= self._mouth_seen
                    and 3 * sum(j in moved for j in range(first, last + 1)) >= around
                    and not self.mouth_still_between(first - 1, last + 1)):
                return True
        return False

    def while_talking(self, iv: SpottedInterval) -> bool | None:
        """Whether the person was talking in the second before the interval or the second after it
        (``_beside_talking``): a movement made while talking, where a syllable and an expression of the
        lower face move alike; None with the speech filter off (the mouth is not followed). Asked when the
        interval comes out, while the frames about it are still remembered."""
        if self.config.speech_train < 2:
            return None
        return self._beside_talking(iv)

    def _talking_at(self, j: int) -> bool:
        """Whether frame ``j`` lies inside talking: the mouth moved (``_follow_mouth``) within ``speech_gap_s``
        before it or at it, and again after it."""
        after = False
        for k in reversed(self._mouth_moved):  # newest first
            if k > j:
                after = True
                continue
            return after and k > j - self._speech_gap
        return False

    def _relearning(self, iv: SpottedInterval) -> bool:
        """Whether the micro track's threshold was learning again, after talking was forgotten, when it judged the
        interval's apex: from the few scores it has then it can sit at 0.7-1.5 px, and a smile a second after such
        talking stayed under it, though the lip corners (whose threshold learnt from the talking) found it."""
        return any(first <= iv.apex <= last for first, last in self._relearnt)

    def _talking_from(self, frame: int) -> int:
        """The first frame of the talking that goes on at ``frame``: after the last pause before it, or the first
        frame whose mouth motion is known."""
        start = self._pauses_from if self._pauses_from >= 0 else (self._first_mouth or 0)
        for first, last in self._pauses:
            if last < frame:
                start = max(start, last + 1)
        return start

    def _ignore_speech(self, found: list[SpottedInterval]) -> None:
        """Keep talking out of what the micro track learns as noise: from a train's first syllable to
        ``speech_gap_s`` after its last (the next syllable may still come), and, for a mouth interval beside
        talking (``_beside_talking``), from where that talking began: in a clip that starts mid-sentence no train
        forms, and the threshold held what it learnt of the talking for ``history_s``, so a smile a second
        after it stayed under it."""
        for iv in found:
            train = self._speech_train(iv)
            if train:
                last = max(t.offset for t in train) + int(round(self._speech_gap))
                self.micro.ignore(train[0].onset, last)
            elif self._mouth_beside_talking(iv):
                self.micro.ignore(self._talking_from(iv.onset), iv.offset + int(round(self._speech_gap)))

    def flush(self) -> list[SpottedInterval]:
        """End of input: close open candidates and release everything still held back."""
        held: list[SpottedInterval] = []
        for j, face in self.smoother.flush():
            held.extend(self._push_prepared(j, face)[1])
        self._pending_micro.extend(self.micro.flush())
        if self._brows is not None and self._corners is not None and self._corners_down is not None:
            self._pending_brows.extend(self._matched(iv, _MOUTH) for iv in self._brows.finish())
            self._pending_corners.extend(self._matched(iv, [_CHIN]) for iv in self._corners.finish())
            self._pending_corners_down.extend(self._matched(iv, [_CHIN]) for iv in self._corners_down.finish())
        macro_done: list[SpottedInterval] = []
        if self.macro is not None:
            macro_done = self._macro_expressions(self.macro.flush())
            self._macro_intervals.extend(macro_done)
        last = self._last_index if self._last_index is not None else 0
        return sorted(held + self._release(10 ** 12, macro_done, last, final=True), key=lambda iv: iv.onset)
