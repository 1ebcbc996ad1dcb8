"""Ground truth for one input: the intervals (and labels, when known) a coder marked, read from the files
researchers have, and how an analysis compares with them.

Read here: the project's JSON (``assets/demo/demo_ground_truth.json``, and ``events.json`` itself, so a
corrected result can serve as truth), CSV with a header naming onset/offset columns, and the MEGC layouts
without a header (``all_Info.txt``: ``subject video type onset apex offset``; the MEGC2021 sheets saved as
CSV: ``subject,video,onset,apex,offset,AUs,label,type,emotion``). Frame numbers are the input's frame
indices (0 = first frame), as in ``events.json``; a dataset coding table's frame numbers name image files
instead, and :func:`to_source_indices` turns them into indices. Coding tables themselves are read by the
dataset readers (``frl_core.engine.truth``).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from frl_core.spotting.megc_metric import SpottingCounts, count_hits, match_intervals


class GroundTruthError(ValueError):
    """A ground-truth file that cannot be used; ``str(err)`` is a one-line message for the user."""


@dataclass(frozen=True)
class TruthInterval:
    """One coded movement: inclusive frame interval, apex, kind and label when the file gives them."""

    onset: int
    offset: int
    apex: int | None = None
    kind: str | None = None
    """"micro" or "macro" when known."""
    label: str | None = None
    """The coder's class or emotion word, lower case."""
    video: str | None = None
    """Which video of a multi-video file the row belongs to (``subject_video``)."""


_ONSET = ("onset", "onset_index", "onsetframe", "onset frame", "onset_frame", "start")
_APEX = ("apex", "apex_index", "apexframe", "apex frame", "apex_frame")
_OFFSET = ("offset", "offset_index", "offsetframe", "offset frame", "offset_frame", "end")
_LABEL = ("label", "estimated emotion", "emotion", "class")
_KIND = ("kind", "type", "expression type")
_VIDEO = ("video", "filename", "clip")
_SUBJECT = ("subject",)
_NUMBER = re.compile(r"^-?\d+(\.0*)?$")


def _kind(text: Any) -> str | None:
    t = str(text or "").strip().lower()
    return "micro" if t.startswith("micro") else "macro" if t.startswith("macro") else None


def _frame(value: Any, where: str) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise GroundTruthError(f"{where}: frame number {value!r} is not a number") from None
    if number != number or number < 0:
        raise GroundTruthError(f"{where}: frame number {value!r} is not a frame")
    return int(round(number))


def _interval(onset: Any, apex: Any, offset: Any, where: str, zero_uncoded: bool = False,
              **extra: Any) -> TruthInterval:
    """One interval; an apex outside it is dropped. With ``zero_uncoded`` (the MEGC files, whose frames count
    from 1) an onset or offset of 0 next to a coded apex means "not coded" and becomes the apex."""
    o = _frame(onset, where)
    a = None if apex in (None, "", "/", "-1", -1) else _frame(apex, where)
    f = _frame(offset, where) if offset not in (None, "") else (a if a is not None else o)
    if zero_uncoded and a is not None and a > 0:
        o, f = (a if o == 0 else o), (a if f == 0 else f)
    if f < o:
        raise GroundTruthError(f"{where}: offset {f} comes before onset {o}")
    if a is not None and not o <= a <= f:
        a = None  # real answer keys have such rows (an apex coded past the offset): the interval still counts
    label = extra.get("label")
    label = str(label).strip().lower() or None if label is not None else None
    return TruthInterval(o, f, a, _kind(extra.get("kind")), label, extra.get("video"))


def _from_json(path: Path) -> list[TruthInterval]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise GroundTruthError(f"cannot read ground truth {path}: {getattr(err, 'strerror', None) or err}") from None
    except json.JSONDecodeError as err:
        raise GroundTruthError(f"{path.name} is not JSON: {err.msg} (line {err.lineno})") from None
    events = doc.get("events") if isinstance(doc, dict) else doc
    if not isinstance(events, list):
        raise GroundTruthError(f"{path.name}: expected a list of events or {{\"events\": [...]}}")
    out = []
    for n, e in enumerate(events, 1):
        where = f"{path.name} event {n}"
        if not isinstance(e, dict):
            raise GroundTruthError(f"{where}: expected an object with onset and offset")
        onset = e.get("onset", e.get("onset_index"))
        offset = e.get("offset", e.get("offset_index"))
        if onset is None or offset is None:
            raise GroundTruthError(f"{where}: no onset/offset frame")
        out.append(_interval(onset, e.get("apex", e.get("apex_index")), offset, where,
                             label=e.get("label"), kind=e.get("kind")))
    return out


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    for name in names:
        if name in header:
            return header.index(name)
    return None


def _from_table(path: Path, rows: list[list[str]]) -> list[TruthInterval]:
    header = [h.strip().lower() for h in rows[0]]
    cols = {k: _column(header, names) for k, names in (("onset", _ONSET), ("apex", _APEX), ("offset", _OFFSET),
                                                       ("label", _LABEL), ("kind", _KIND), ("video", _VIDEO),
                                                       ("subject", _SUBJECT))}
    if cols["onset"] is None or cols["offset"] is None:
        raise GroundTruthError(f"{path.name}: the header names no onset and offset columns "
                               f"(e.g. onset,apex,offset,label)")

    def cell(row: list[str], key: str) -> str | None:
        i = cols[key]
        return row[i].strip() if i is not None and i < len(row) else None

    out = []
    for n, row in enumerate(rows[1:], 2):
        if not any(c.strip() for c in row):
            continue
        video = "_".join(v for v in (cell(row, "subject"), cell(row, "video")) if v) or None
        out.append(_interval(cell(row, "onset"), cell(row, "apex"), cell(row, "offset"), f"{path.name} line {n}",
                             label=cell(row, "label"), kind=cell(row, "kind"), video=video))
    return out


def _from_megc_rows(path: Path, rows: list[list[str]]) -> list[TruthInterval]:
    """Rows without a header: identifiers, then onset apex offset (or onset offset), then words.

    The frames are the first run of two or three numbers, so identifiers must not be two numbers in a row.
    """
    out = []
    for n, row in enumerate(rows, 1):
        cells = [c.strip() for c in row if c.strip()]
        if not cells:
            continue
        first = next((i for i, c in enumerate(cells) if _NUMBER.match(c)
                      and i + 1 < len(cells) and _NUMBER.match(cells[i + 1])), None)
        if first is None:
            raise GroundTruthError(f"{path.name} line {n}: no onset/offset frame numbers")
        numbers = []
        for c in cells[first:first + 3]:
            if not _NUMBER.match(c):
                break
            numbers.append(c)
        ids, words = cells[:first], cells[first + len(numbers):]
        onset, apex, offset = (numbers[0], numbers[1], numbers[2]) if len(numbers) == 3 else \
            (numbers[0], None, numbers[1])
        kind = next((w for w in words + ids if _kind(w)), None)
        label = next((w for w in words if w.isalpha() and not _kind(w)), None)
        video = "_".join(i for i in ids if not _kind(i)) or None
        out.append(_interval(onset, apex, offset, f"{path.name} line {n}", zero_uncoded=True, label=label, kind=kind,
                             video=video))
    return out


def _from_text(path: Path) -> list[TruthInterval]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise GroundTruthError(f"cannot read ground truth {path}: {getattr(err, 'strerror', None) or err}") from None
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise GroundTruthError(f"{path.name} holds no interval")
    if "," in lines[0] or "\t" in lines[0]:
        rows = list(csv.reader(lines, delimiter="\t" if "\t" in lines[0] and "," not in lines[0] else ","))
    else:
        rows = [ln.split() for ln in lines]
    has_header = (any(c.strip().lower() in _ONSET + _OFFSET for c in rows[0])
                  or not any(_NUMBER.match(c.strip()) for c in rows[0]))
    return _from_table(path, rows) if has_header else _from_megc_rows(path, rows)


def load_ground_truth(path: str | Path, video: str | None = None) -> list[TruthInterval]:
    """The coded intervals of one input, from JSON or CSV/text (see the module's docstring).

    A file holding several videos needs ``video`` (``subject_video``, or the video's own name); the rows of
    that video are returned. Raises GroundTruthError with a one-line message.
    """
    path = Path(path)
    if not path.is_file():
        raise GroundTruthError(f"ground truth file not found: {path}")
    truth = _from_json(path) if path.suffix.lower() == ".json" else _from_text(path)
    videos = sorted({t.video for t in truth if t.video})
    if video is not None:
        wanted = video.replace("/", "_")
        truth = [t for t in truth if t.video is not None and (t.video == wanted or t.video.endswith("_" + wanted))]
        if not truth:
            shown = ", ".join(videos[:5]) + (" ..." if len(videos) > 5 else "")
            raise GroundTruthError(f"{path.name} has no interval of {video!r} (it holds {shown or 'no video names'})")
    elif len(videos) > 1:
        raise GroundTruthError(f"{path.name} holds {len(videos)} videos ({videos[0]}, {videos[1]}, ...): "
                               "name the one analysed (--truth-clip)")
    return truth


def stated_fps(path: str | Path) -> float | None:
    """The frame rate a JSON truth file says its frame numbers count at (``fps`` at the top, as the demo's
    truth has it, or in ``metadata``, as ``events.json`` has it); None for other files or when absent."""
    path = Path(path)
    if path.suffix.lower() != ".json":
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(doc, dict):
        return None
    for holder in (doc, doc.get("metadata")):
        if isinstance(holder, dict):
            try:
                fps = float(holder.get("fps"))
            except (TypeError, ValueError):
                continue
            if fps > 0 and fps == fps:
                return fps
    return None


def retime(truth: Sequence[TruthInterval], from_fps: float, to_fps: float) -> list[TruthInterval]:
    """Intervals counted at ``from_fps`` as the frame indices of the same moments at ``to_fps`` (a video
    re-encoded at another rate keeps its times, not its frame numbers)."""
    ratio = to_fps / from_fps

    def at(n: int) -> int:
        return int(round(n * ratio))

    out = []
    for t in truth:
        onset, offset = at(t.onset), max(at(t.onset), at(t.offset))
        apex = None if t.apex is None else min(max(at(t.apex), onset), offset)
        out.append(TruthInterval(onset, offset, apex, t.kind, t.label, t.video))
    return out


def to_source_indices(truth: Sequence[TruthInterval], frame_numbers: Sequence[int]) -> list[TruthInterval]:
    """Intervals coded in a dataset's frame numbers (``img46.jpg`` is 46) as indices into the input's frames.

    Raises GroundTruthError when a coded onset or offset lies outside the numbers the input holds.
    """
    numbers = list(frame_numbers)
    if not numbers:
        raise GroundTruthError("the input's file names carry no frame numbers to match the coding table's")
    lo, hi = min(numbers), max(numbers)

    def index(n: int) -> int:
        return min(range(len(numbers)), key=lambda i: (abs(numbers[i] - n), i))

    out = []
    for t in truth:
        if t.onset > hi or t.offset < lo:
            raise GroundTruthError(f"coded frames {t.onset}-{t.offset} are not among the input's frame numbers "
                                   f"{lo}-{hi}")
        out.append(TruthInterval(index(t.onset), index(t.offset), None if t.apex is None else index(t.apex),
                                 t.kind, t.label, t.video))
    return out


@dataclass(frozen=True)
class TruthComparison:
    """How an analysis's events compare with the coded intervals of the same input."""

    counts: SpottingCounts
    """MEGC interval counts (IoU >= 0.5, frames inclusive): true positives, predicted, ground truth."""
    labelled_matches: int
    """Matched event/truth pairs where both carry a label."""
    labels_right: int
    top_class_right: int

    @property
    def f1(self) -> float:
        return self.counts.f1

    @property
    def label_accuracy(self) -> float | None:
        """Right labels among labelled matches (``uncertain`` counts as not right); None without any."""
        return self.labels_right / self.labelled_matches if self.labelled_matches else None

    @property
    def top_class_accuracy(self) -> float | None:
        return self.top_class_right / self.labelled_matches if self.labelled_matches else None

    def as_dict(self) -> dict:
        c = self.counts
        return {"interval_f1": c.f1, "precision": c.precision, "recall": c.recall,
                "true_positives": c.true_positives, "predicted": c.predicted, "ground_truth": c.ground_truth,
                "labelled_matches": self.labelled_matches, "label_accuracy": self.label_accuracy,
                "top_class_accuracy": self.top_class_accuracy}

    def summary(self) -> str:
        c = self.counts
        text = (f"against the truth: interval F1 {c.f1:.3f} (hit {c.true_positives} of {c.ground_truth} coded, "
                f"{c.predicted} found)")
        if self.labelled_matches:
            text += (f"; label accuracy {self.label_accuracy:.3f} ({self.labels_right} of {self.labelled_matches}; "
                     f"most likely class {self.top_class_accuracy:.3f})")
        return text


def compare_to_truth(truth: Sequence[TruthInterval], events: Sequence[Any], iou: float = 0.5) -> TruthComparison:
    """Interval F1 by the MEGC rule and label accuracy over one-to-one matched pairs.

    ``events`` need ``onset_index``, ``offset_index``, ``label`` and ``top_class`` (an ``Event``).
    """
    gt = [(t.onset, t.offset) for t in truth]
    pred = [(int(e.onset_index), int(e.offset_index)) for e in events]
    counts = SpottingCounts(count_hits(gt, pred, iou), len(pred), len(gt))
    labelled = right = top_right = 0
    for g, p in match_intervals(gt, pred, iou):
        want = truth[g].label
        if want is None or events[p].label is None:  # an event spotted but not recognised has no label to compare
            continue
        labelled += 1
        right += (events[p].label or "").lower() == want
        top_right += (events[p].top_class or "").lower() == want
    return TruthComparison(counts, labelled, right, top_right)
