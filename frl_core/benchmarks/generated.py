"""Scoring the spotter and the recogniser on generated sequences whose events are known, and the real
faces the labelled benchmark renders."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from frl_core.synth.labelled import encode_video
from frl_core.synth.render import STILL, SynthError, SyntheticSequence, demo_sequence, load_face, render_sequence


@dataclass
class SpottingReport:
    sequences: int
    ground_truth: int
    spotted: int
    true_positives: int
    precision: float
    recall: float
    f1: float
    apex_errors: list[int]
    ms_per_frame: dict[str, float]
    """Milliseconds per frame of each stage (the engine's wall-clock stage times)."""
    misses: list[str] = field(default_factory=list)
    """Ground-truth events not found and spotted intervals that match nothing, for inspection."""

    @property
    def median_apex_error(self) -> float:
        return float(np.median(self.apex_errors)) if self.apex_errors else float("nan")


def spot_sequence(sequence: SyntheticSequence, face_config=None, spotter_config=None,
                  timings: dict[str, float] | None = None) -> list:
    """The product's engine, spotting only, over a sequence's frames: the events found (their onset,
    apex and offset are frame indices). ``timings`` accumulates the engine's seconds per stage."""
    from frl_core.engine import AnalysisEngine, EngineConfig
    from frl_core.faces import FaceConfig
    from frl_core.spotting import SpotterConfig

    engine = AnalysisEngine(EngineConfig(fps=sequence.fps, face=face_config or FaceConfig(),
                                         spotter=spotter_config or SpotterConfig(), recognize=False))
    found = []
    for i, frame in enumerate(sequence.frames):
        found += engine.process(i / sequence.fps, frame)[1]
    found += engine.flush()
    if timings is not None:
        for stage in ("face", "align", "spotting"):
            timings[stage] = timings.get(stage, 0.0) + engine.stats.seconds[stage]
    return found


def evaluate_spotting(sequences: list[SyntheticSequence], spotter_config=None) -> SpottingReport:
    """Interval F1 (MEGC: IoU >= 0.5, pooled) and apex errors of matched events over the sequences."""
    from frl_core.spotting.megc_metric import match_intervals

    tp = n_gt = n_pred = 0
    apex_errors: list[int] = []
    misses: list[str] = []
    timings: dict[str, float] = {}
    frames = 0
    for seq in sequences:
        found = spot_sequence(seq, spotter_config=spotter_config, timings=timings)
        frames += seq.n_frames
        gt = [(e.onset, e.offset) for e in seq.events]
        pred = [(e.onset_index, e.offset_index) for e in found]
        matches = match_intervals(gt, pred)
        tp += len(matches)
        n_gt += len(gt)
        n_pred += len(pred)
        for g, p in matches:
            apex_errors.append(abs(found[p].apex_index - seq.events[g].apex))
        hit_g, hit_p = {g for g, _ in matches}, {p for _, p in matches}
        misses += [f"seed {seq.seed}: missed {e.kind} {e.expression} {e.onset}-{e.apex}-{e.offset}"
                   for g, e in enumerate(seq.events) if g not in hit_g]
        misses += [f"seed {seq.seed}: false {e.kind} {e.onset_index}-{e.apex_index}-{e.offset_index} score {e.score:.2f}"
                   for p, e in enumerate(found) if p not in hit_p]
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gt if n_gt else 0.0
    f1 = 2 * tp / (n_pred + n_gt) if (n_pred + n_gt) else 1.0
    ms = {k: 1000.0 * v / max(frames, 1) for k, v in timings.items()}
    return SpottingReport(len(sequences), n_gt, n_pred, tp, precision, recall, f1, apex_errors, ms, misses)


def benchmark_faces(data_root: Path | None = None, count: int = 5) -> list[tuple[str, np.ndarray]]:
    """(name, BGR image) of the faces the labelled benchmark renders: the bundled astronaut, then up to
    ``count`` - 1 real faces from the MEGC2019 composite's subjects that the DGM never trained on (read
    from the research data when it is there, never copied)."""
    faces = [("astronaut", load_face(None))]
    if data_root is None or count <= 1:
        return faces
    labels = Path(data_root) / "megc2019" / "labels.csv"
    if not labels.is_file():
        return faces
    import csv

    from frl_core.training.dgm_train import held_out_subjects

    rows = list(csv.DictReader(labels.open()))
    subjects = [f"{r['dataset']}/{r['subject']}" for r in rows]
    held = held_out_subjects(subjects, 5)
    seen: set[str] = set()
    by_dataset: dict[str, list[dict]] = {}
    for r, subject in zip(rows, subjects):
        if subject in held and subject not in seen:
            seen.add(subject)
            by_dataset.setdefault(r["dataset"], []).append(r)
    order = [r for group in zip(*by_dataset.values()) for r in group]  # datasets in turn
    for r in order:
        if len(faces) >= count:
            break
        image = cv2.imread(str(Path(data_root) / "megc2019" / r["apex"]), cv2.IMREAD_COLOR)
        if image is None:
            continue
        try:  # a face dlib cannot find on the canvas cannot carry a benchmark sequence
            render_sequence(image, n_frames=1, face_height=0.55, head_motion=STILL, background="soft")
        except SynthError:
            continue
        faces.append((f"{r['dataset']}/{r['subject']}", image))
    return faces


@dataclass
class RecognitionReport:
    """Spotting and recognition of labelled movements on encoded video."""

    codec: str
    sequences: int
    ground_truth: int
    spotted: int
    true_positives: int
    f1: float
    apex_errors: list[int]
    label_correct: int
    label_uncertain: int
    region_correct: int
    by_class: dict[str, list[int]]
    """class -> [matched, labelled right]."""
    by_amplitude: dict[str, list[int]]
    """amplitude bin (px of the aligned face) -> [events, spotted, labelled right]."""
    lines: list[str] = field(default_factory=list)
    truth_pairs: int = 0
    """Events recognised from their true onset and apex frames (recognition alone, spotting aside)."""
    truth_label_correct: int = 0
    truth_uncertain: int = 0
    truth_region_correct: int = 0
    truth_by_class: dict[str, list[int]] = field(default_factory=dict)
    by_movement: dict[str, list[int]] = field(default_factory=dict)
    """movement (``smile``, ``disgust``, ...) -> [events, spotted, spotted and labelled right, labelled right
    from the true onset and apex]: which action units the recogniser reads well and which it confuses."""

    @property
    def label_accuracy(self) -> float:
        return self.label_correct / self.true_positives if self.true_positives else float("nan")

    @property
    def region_accuracy(self) -> float:
        return self.region_correct / self.true_positives if self.true_positives else float("nan")

    @property
    def truth_label_accuracy(self) -> float:
        return self.truth_label_correct / self.truth_pairs if self.truth_pairs else float("nan")

    @property
    def truth_region_accuracy(self) -> float:
        return self.truth_region_correct / self.truth_pairs if self.truth_pairs else float("nan")


def evaluate_recognition(sequences: list[tuple[str, SyntheticSequence]], codec: str, work_dir: Path,
                         weights: str | Path | None = None, device: str = "cpu",
                         crf: int | None = None) -> RecognitionReport:
    """Encode each sequence, analyse the file with the engine (spotting and the live path), and score:
    interval F1 (MEGC IoU >= 0.5), apex error, label accuracy ("uncertain" counts as not right), and
    whether the AU region that moved most in the event's displacement holds one of its action units."""
    from frl_core.faces.action_units import regions_of
    from frl_core.engine import AnalysisEngine, EngineConfig, analyse_source
    from frl_core.faces import alignment_matrix
    from frl_core.faces.pair import FacePatch, align_pair, face_patch
    from frl_core.io.sources import open_source
    from frl_core.spotting.megc_metric import match_intervals

    from frl_core.viz import region_magnitudes

    engine = None
    tp = n_gt = n_pred = label_ok = uncertain = region_ok = 0
    truth = {"pairs": 0, "right": 0, "uncertain": 0, "region": 0}
    truth_by_class: dict[str, list[int]] = {}
    apex_errors: list[int] = []
    by_class: dict[str, list[int]] = {}
    by_amp: dict[str, list[int]] = {}
    by_movement: dict[str, list[int]] = {}
    lines: list[str] = []
    for name, seq in sequences:
        suffix = "mp4" if codec == "mp4v" else "mkv"
        path = encode_video(seq, Path(work_dir) / f"{name.replace('/', '_')}_{seq.seed}.{suffix}", codec, crf)
        if engine is None:
            engine = AnalysisEngine(EngineConfig(fps=seq.fps, weights=weights, device=device))
        else:
            engine.reset()
        wanted = {i for e in seq.events for i in (e.onset, e.apex)}
        kept: dict[int, FacePatch] = {}

        def keep(frame, result, _events, kept=kept, wanted=wanted) -> None:
            if result.index in wanted and result.face is not None:
                kept[result.index] = face_patch(frame, result.face.landmarks, 224)

        source = open_source(str(path))
        try:
            found = analyse_source(source, engine, on_frame=keep)
        finally:
            source.close()
        truth_events = [e for e in seq.events if e.onset in kept and e.apex in kept]
        pairs = [align_pair(kept[e.onset], kept[e.apex], 224) for e in truth_events]
        recognitions = engine.recognizer.recognize([(p.onset, p.apex) for p in pairs]) \
            if engine.recognizer is not None and truth_events else []
        for e, rec in zip(truth_events, recognitions):
            truth["pairs"] += 1
            truth["right"] += rec.label == e.label
            truth["uncertain"] += rec.label == "uncertain"
            mags = region_magnitudes(rec.displacement)
            truth["region"] += max(mags, key=mags.get) in regions_of(e.action_units)
            row = truth_by_class.setdefault(e.label, [0, 0])
            row[0] += 1
            row[1] += rec.label == e.label
            by_movement.setdefault(e.expression, [0, 0, 0, 0])[3] += rec.label == e.label
        m = alignment_matrix(seq.face_landmarks, 224)
        aligned_per_px = math.sqrt(abs(np.linalg.det(m[:, :2])))
        gt = [(e.onset, e.offset) for e in seq.events]
        pred = [(e.onset_index, e.offset_index) for e in found]
        matches = dict(match_intervals(gt, pred))
        n_gt += len(gt)
        n_pred += len(pred)
        for g, e in enumerate(seq.events):
            amp = e.amplitude * aligned_per_px
            key = f"{math.floor(amp * 2) / 2:.1f}-{math.floor(amp * 2) / 2 + 0.5:.1f}"
            row = by_amp.setdefault(key, [0, 0, 0])
            row[0] += 1
            cls = by_class.setdefault(e.label, [0, 0])
            move = by_movement.setdefault(e.expression, [0, 0, 0, 0])
            move[0] += 1
            if g not in matches:
                lines.append(f"{name} seed {seq.seed}: missed {e.expression} ({amp:.2f} px) {e.onset}-{e.apex}-{e.offset}")
                continue
            ev = found[matches[g]]
            tp += 1
            row[1] += 1
            cls[0] += 1
            apex_errors.append(abs(ev.apex_index - e.apex))
            right = ev.label == e.label
            label_ok += right
            row[2] += right
            cls[1] += right
            move[1] += 1
            move[2] += right
            uncertain += ev.label == "uncertain"
            regions = regions_of(e.action_units)
            strongest = max(ev.region_magnitude, key=ev.region_magnitude.get) if ev.region_magnitude else None
            region_ok += strongest in regions
            if not right or strongest not in regions:
                lines.append(f"{name} seed {seq.seed}: {e.expression} ({amp:.2f} px) -> {ev.label_text()}, "
                             f"strongest region {strongest}")
        lines += [f"{name} seed {seq.seed}: false {e.kind} {e.onset_index}-{e.apex_index}-{e.offset_index}"
                  for p, e in enumerate(found) if p not in set(matches.values())]
    f1 = 2 * tp / (n_gt + n_pred) if (n_gt + n_pred) else 1.0
    return RecognitionReport(codec, len(sequences), n_gt, n_pred, tp, f1, apex_errors, label_ok, uncertain,
                             region_ok, by_class, dict(sorted(by_amp.items())), lines, truth["pairs"],
                             truth["right"], truth["uncertain"], truth["region"], truth_by_class,
                             dict(sorted(by_movement.items())))


def measure_costs(frames: int = 300, repeats: int = 30) -> dict[str, tuple[float, float]]:
    """Milliseconds per call (wall, CPU) of each face/spotting stage on the 640x480 demo sequence.

    CPU time is reported beside wall time because on a shared machine the wall clock also counts
    other processes' turns.
    """
    import time

    import dlib

    from frl_core.faces import FaceTracker, align_face, face_models
    from frl_core.spotting import StreamingSpotter

    seq = demo_sequence()
    grays = [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for f in seq.frames[:frames]]
    detector, predictor = face_models("dlib")
    _, compiled = face_models("compiled")

    def timed(fn, n: int) -> tuple[float, float]:
        fn()
        w0, c0 = time.perf_counter(), time.process_time()
        for _ in range(n):
            fn()
        return (1000 * (time.perf_counter() - w0) / n, 1000 * (time.process_time() - c0) / n)

    g = grays[0]
    small = cv2.resize(g, (320, 240), interpolation=cv2.INTER_AREA)
    r = detector(small, 0)[0]
    rect = dlib.rectangle(r.left() * 2, r.top() * 2, r.right() * 2, r.bottom() * 2)
    out = {
        "detect (320x240 copy, no upsampling)": timed(
            lambda: detector(cv2.resize(g, (320, 240), interpolation=cv2.INTER_AREA), 0), repeats),
        "detect (320x240 copy, 1 upsampling: only while no face)": timed(lambda: detector(small, 1), repeats // 3),
        "detect (full 640x480, for comparison)": timed(lambda: detector(g, 0), repeats // 3),
        "landmarks (dlib's 68-point predictor)": timed(lambda: predictor(g, rect), 10 * repeats),
        "landmarks (the same model, compiled: frl_core.faces.landmarks)": timed(
            lambda: compiled.predict(g, (rect.left(), rect.top(), rect.right(), rect.bottom())), 10 * repeats),
    }
    tracker = FaceTracker()
    obs = tracker.update(g)[0]
    out["align_face (224)"] = timed(lambda: align_face(g, obs.landmarks, 224), 10 * repeats)

    def track_all() -> list:
        tracker.reset()
        return [tracker.update(f)[0] for f in grays]

    w, c = timed(track_all, 1)
    out["FaceTracker.update per frame (detect every 30, track between)"] = (w / len(grays), c / len(grays))
    observations = track_all()
    aligned = [align_face(f, o.landmarks, 224) for f, o in zip(grays, observations)]

    def spot_all() -> None:
        spotter = StreamingSpotter(seq.fps)
        for i, a in enumerate(aligned):
            spotter.push(i, i / seq.fps, a)

    w, c = timed(spot_all, 1)
    out["StreamingSpotter.push per frame"] = (w / len(aligned), c / len(aligned))
    return out
