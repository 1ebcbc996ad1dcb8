"""Clip mode over a whole dataset: every clip its coding table lists, one predictions table, UF1 and UAR.

The coding table gives each clip's onset, apex and offset, so by default the recogniser reads the
dataset's own onset/apex pair, as the published protocols do; ``find_apex`` lets the clip-mode apex
search choose the apex instead. The table is written row by row and a rerun skips the clips already in
it, so an interrupted batch resumes where it stopped (clips that failed are tried again).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from frl_core.data.common import MEGC2019_CLASSES
from frl_core.data.raw import RawClip, frame_index
from frl_core.engine.clip import ClipAnalyzer, ClipError
from frl_core.engine.truth import megc_class
from frl_core.metrics import RecognitionScores, score

DATASET_FPS = {"casme2": 200.0, "samm": 200.0, "smic": 100.0, "casme3": 30.0}
"""Recording rates of the datasets' frame folders (SMIC-HS 100 fps, CAS(ME)^3 part A 30 fps)."""
KEY_COLUMNS = ("subject", "clip", "onset")


class BatchError(ValueError):
    """The predictions table cannot be used or written; ``str(err)`` is a one-line message for the user."""


def prediction_columns(class_names: Iterable[str]) -> list[str]:
    """Columns of the predictions table: the clip, its coded frames, the truth, the prediction."""
    return (["subject", "clip", "onset", "apex", "offset", "apex_source", "emotion", "true_label", "predicted",
             "top_class"] + [f"prob_{c}" for c in class_names] + ["uncertain", "note"])


def clip_frames(clip: RawClip) -> list[tuple[int, Path]]:
    """(frame number, file) of the clip's frames from its onset to its offset, in order."""
    if clip.frame_dir is None:
        raise ClipError(f"{clip.subject}/{clip.clip}: no frame folder")
    index = frame_index(clip.frame_dir)
    return [(n, index[n]) for n in sorted(index) if clip.onset <= n <= clip.offset]


def read_done(path: Path, columns: list[str]) -> set[tuple[str, str, str]]:
    """Keys (subject, clip, onset) already analysed in a predictions table written with the same columns.

    Rows of clips that failed (no face, an unreadable frame) are dropped from the table, so a rerun tries
    them again once the cause is fixed.
    """
    if not path.is_file():
        return set()
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError) as err:
        raise BatchError(f"cannot read {path} to resume: {getattr(err, 'strerror', None) or err}") from None
    if not rows:
        return set()
    if rows[0] != columns:
        raise BatchError(f"{path} was written with other columns (another model or version?): choose another --out "
                         "or remove it")
    source = columns.index("apex_source")
    kept = [r for r in rows[1:] if len(r) == len(columns) and r[source]]
    if len(kept) < len(rows) - 1:
        try:
            tmp = path.with_name(path.name + ".tmp")
            with open(tmp, "w", newline="", encoding="utf-8") as fh:
                csv.writer(fh).writerows([columns, *kept])
            tmp.replace(path)
        except OSError as err:
            raise BatchError(f"cannot write {path}: {err.strerror or err}") from None
    return {tuple(r[:3]) for r in kept}


@dataclass
class BatchSummary:
    """What a batch did and, where the table's labels map to the model's classes, how well."""

    clips: int = 0
    done: int = 0
    skipped: int = 0
    """Already in the table (resumed)."""
    failed: int = 0
    """No face, an unreadable frame, a clip too short: written with a note and no prediction."""
    scores: RecognitionScores | None = None
    uncertain: int = 0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        out = {"clips": self.clips, "analysed_now": self.done, "resumed": self.skipped, "failed": self.failed,
               "uncertain": self.uncertain}
        if self.scores is not None:
            out.update(self.scores.as_dict())
        return out


def _row(clip: RawClip, columns: list[str], class_names: tuple[str, ...], **values: object) -> list[str]:
    row = {"subject": clip.subject, "clip": clip.clip, "onset": str(clip.onset), "apex": str(clip.apex),
           "offset": str(clip.offset), "emotion": clip.emotion, "true_label": megc_class(clip.emotion) or ""}
    row.update({k: "" if v is None else str(v) for k, v in values.items()})
    return [row.get(c, "") for c in columns]


def analyse_clip(analyzer: ClipAnalyzer, clip: RawClip, fps: float, find_apex: bool) -> dict[str, object]:
    """One clip's prediction as table values; raises ClipError for a clip that cannot be analysed."""
    numbered = clip_frames(clip)
    if len(numbered) < 2:
        raise ClipError(f"only {len(numbered)} frame between onset {clip.onset} and offset {clip.offset}")
    frames = []
    for _, path in numbered:
        img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if img is None:
            raise ClipError(f"cannot read image {path.name}")
        frames.append(img)
    numbers = [n for n, _ in numbered]
    apex = None if find_apex else min(range(len(numbers)), key=lambda i: abs(numbers[i] - clip.apex))
    if apex == 0:  # a table's apex on the onset frame (repaired rows): the next frame is the nearest pair
        apex = 1
    result = analyzer.analyse(frames, fps, onset=0, apex=apex, offset=len(frames) - 1)
    event = result.event
    if result.recognition_error is not None:
        raise ClipError(str(result.recognition_error))
    values: dict[str, object] = {
        "apex": numbers[event.apex_index], "apex_source": "found" if result.apex_found else "table",
        "predicted": event.label, "top_class": event.top_class,
        "uncertain": "" if event.label is None else int(event.label == "uncertain"),
        "note": "; ".join(result.notes),
    }
    values.update({f"prob_{k}": f"{v:.4f}" for k, v in event.probabilities.items()})
    return values


def run_batch(clips: list[RawClip], analyzer: ClipAnalyzer, table: Path, class_names: tuple[str, ...],
              fps: float, find_apex: bool = False, progress: Callable[[str], None] | None = None) -> BatchSummary:
    """Analyse every clip not yet in ``table``, appending a row each; then score the whole table."""
    columns = prediction_columns(class_names)
    done = read_done(table, columns)
    summary = BatchSummary(clips=len(clips))
    try:
        table.parent.mkdir(parents=True, exist_ok=True)
        fh = open(table, "a", newline="", encoding="utf-8")
    except OSError as err:
        raise BatchError(f"cannot write {table}: {err.strerror or err}") from None
    with fh:
        writer = csv.writer(fh)
        if fh.tell() == 0:
            writer.writerow(columns)
        for n, clip in enumerate(clips, 1):
            name = f"{clip.subject}/{clip.clip}"
            if (clip.subject, clip.clip, str(clip.onset)) in done:
                summary.skipped += 1
                continue
            try:
                values = analyse_clip(analyzer, clip, fps, find_apex)
                summary.done += 1
                text = f"{values['predicted'] or 'not recognised'}"
            except ClipError as err:
                values = {"note": str(err)}
                summary.failed += 1
                text = f"failed: {err}"
            try:
                writer.writerow(_row(clip, columns, class_names, **values))
                fh.flush()
            except OSError as err:
                raise BatchError(f"cannot write {table}: {err.strerror or err}") from None
            if progress is not None:
                progress(f"[{n}/{len(clips)}] {name}: {text}")
    summary.scores, summary.uncertain = score_table(table, class_names)
    return summary


def score_table(table: Path, class_names: tuple[str, ...]) -> tuple[RecognitionScores | None, int]:
    """UF1/UAR of the most likely class against the table's true labels (clips whose emotion maps to one
    of the model's classes), and how many predictions were ``uncertain``."""
    with open(table, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    pairs = [(r["true_label"], r["top_class"]) for r in rows if r["true_label"] in class_names and r["top_class"]]
    uncertain = sum(r["uncertain"] == "1" for r in rows)
    if not pairs or set(class_names) - set(MEGC2019_CLASSES):
        return None, uncertain
    index = {c: i for i, c in enumerate(class_names)}
    y_true = np.array([index[t] for t, _ in pairs])
    y_pred = np.array([index.get(p, -1) for _, p in pairs])
    keep = y_pred >= 0
    return score(y_true[keep], y_pred[keep], len(class_names)), uncertain
