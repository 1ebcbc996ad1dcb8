"""What a session has found so far, kept in the GUI thread: per-frame results, events, and the coder's
review of those events.

Nothing here is recomputed; a failing source or export never clears it, so nothing found is lost. The
review (accept, reject, relabel, move onset/apex/offset) lives beside the machine's events and never
changes them: exports of events are the machine's, the coding table is the coder's.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QFont

from frl_core.io.coding import CodedEvent, CodingError
from frl_core.types import Event, FrameResult
from frl_core.viz import PALETTE


class SessionResults:
    """Per-frame results by source index, and events in the order found."""

    def __init__(self) -> None:
        self.frames: dict[int, FrameResult] = {}
        self.events: list[Event] = []
        self.review: dict[int, CodedEvent] = {}
        """The coder's view of each event, by event id (unreviewed copies until edited)."""
        self.faces_seen = 0

    def add_frames(self, results: list[FrameResult]) -> None:
        for r in results:
            self.frames[r.index] = r
            self.faces_seen += r.face is not None

    def left_out_as_speech(self) -> list[list[int]]:
        """Onset, apex and offset frame of every interval the engine left out as talking, as the CLI lists them."""
        return sorted([list(item[3:6]) for r in self.frames.values() for item in r.left_out if item[2] == "speech"])

    def add_events(self, events: list[Event]) -> None:
        self.events.extend(events)
        for e in events:
            self.review.setdefault(e.event_id, CodedEvent.from_event(e))

    def coded(self, event: Event) -> CodedEvent:
        return self.review.setdefault(event.event_id, CodedEvent.from_event(event))

    def reviewed_count(self) -> int:
        return sum(c.status != "unreviewed" for c in self.review.values())

    def frame_count(self) -> int:
        return len(self.frames)

    def ordered_frames(self) -> list[FrameResult]:
        return [self.frames[i] for i in sorted(self.frames)]

    def clear(self) -> None:
        self.frames.clear()
        self.events.clear()
        self.review.clear()
        self.faces_seen = 0


def _time(t: float) -> str:
    if not math.isfinite(t):
        return ""
    minutes, seconds = divmod(t, 60.0)
    return f"{int(minutes)}:{seconds:05.2f}"


REVIEW_MARKS = {"unreviewed": "", "accepted": "✓ accepted", "rejected": "✗ rejected"}


class EventsTableModel(QAbstractTableModel):
    """The events table: time, onset/apex/offset frames, kind, label, confidence, review and whether the person
    was talking.

    Onset, apex, offset and label are editable (double-click): they show the coder's values, in italics
    where they differ from the machine's (which the tooltip keeps); a rejected event is greyed out.
    """

    COLUMNS = ("#", "apex time", "onset", "apex", "offset", "kind", "label", "confidence", "review", "talking")
    EDITABLE = (2, 3, 4, 6)
    edit_refused = Signal(str)
    """An edit that makes no sense (an apex after the offset): the reason, for the message bar."""

    def __init__(self, results: SessionResults, parent=None) -> None:
        super().__init__(parent)
        self.results = results

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.results.events)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.COLUMNS[section]
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsEditable if index.isValid() and index.column() in self.EDITABLE else base

    @staticmethod
    def _machine(e: Event, col: int) -> str:
        if col in (2, 3, 4):
            return str((e.onset_index, e.apex_index, e.offset_index)[col - 2])
        if e.label == "uncertain" and e.top_class is not None:
            return f"uncertain ({e.top_class}?)"
        return e.label or "not recognised"

    def _coded(self, c: CodedEvent, e: Event, col: int) -> str:
        if col in (2, 3, 4):
            return str((c.onset, c.apex, c.offset)[col - 2])
        return c.emotion if c.emotion != (e.label or "") else self._machine(e, col)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        e = self.results.events[index.row()]
        c = self.results.coded(e)
        col = index.column()
        edited = col in self.EDITABLE and self._coded(c, e, col) != self._machine(e, col)
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            if col == 0:
                return str(e.event_id)
            if col == 1:
                return _time(e.apex_time)
            if col in self.EDITABLE:
                return self._coded(c, e, col)
            if col == 5:
                return e.kind
            if col == 7:
                return f"{e.confidence:.0%}" if math.isfinite(e.confidence) else ""
            if col == 8:
                return REVIEW_MARKS[c.status]
            if col == 9:
                return "while talking" if e.while_talking else ""
        if role == Qt.ItemDataRole.TextAlignmentRole and col != 6:
            return int(Qt.AlignmentFlag.AlignCenter)
        if role == Qt.ItemDataRole.FontRole and edited:
            font = QFont()
            font.setItalic(True)
            return font
        if role == Qt.ItemDataRole.ForegroundRole and c.status == "rejected":
            return QColor(PALETTE["live_motion"])
        if role == Qt.ItemDataRole.ToolTipRole:
            probs = ", ".join(f"{k} {v:.2f}" for k, v in e.probabilities.items())
            text = (f"{e.kind} movement, frames {e.onset_index}–{e.apex_index}–{e.offset_index}, "
                    f"score {e.score:.3g}" + (f"\n{probs}" if probs else ""))
            if edited:
                text = f"the machine said {self._machine(e, col)}; edited by the coder\n" + text
            return text
        return None

    def setData(self, index: QModelIndex | QPersistentModelIndex, value, role: int = Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        if not index.isValid() or role != Qt.ItemDataRole.EditRole or index.column() not in self.EDITABLE:
            return False
        e = self.results.events[index.row()]
        c = self.results.coded(e)
        col = index.column()
        try:
            if col == 6:
                label = str(value).strip()
                if not label:
                    raise CodingError("a label cannot be empty")
                new = c.edited(emotion=label)
            else:
                frame = int(str(value).strip())
                new = c.edited(**{("onset", "apex", "offset")[col - 2]: frame})
        except (CodingError, ValueError) as err:
            reason = str(err) if isinstance(err, CodingError) else f"{value!r} is not a frame number"
            self.edit_refused.emit(f"event {e.event_id}: {reason}")
            return False
        self.set_review(index.row(), new)
        return True

    def set_review(self, row: int, coded: CodedEvent) -> None:
        """Replace the review of the event in ``row`` (accept, reject, reset or an edit)."""
        self.results.review[self.results.events[row].event_id] = coded
        self.dataChanged.emit(self.index(row, 0), self.index(row, self.columnCount() - 1))

    def set_status(self, row: int, status: str) -> None:
        self.set_review(row, self.results.coded(self.results.events[row]).edited(status=status))

    def reset_review(self, row: int) -> None:
        self.set_review(row, CodedEvent.from_event(self.results.events[row]))

    def replace_review(self, review: dict[int, CodedEvent]) -> None:
        """A re-imported review (every row may change)."""
        self.results.review = dict(review)
        if self.results.events:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.results.events) - 1, self.columnCount() - 1))

    def append(self, events: list[Event]) -> None:
        if not events:
            return
        first = len(self.results.events)
        self.beginInsertRows(QModelIndex(), first, first + len(events) - 1)
        self.results.add_events(events)
        self.endInsertRows()

    def reset(self) -> None:
        self.beginResetModel()
        self.results.clear()
        self.endResetModel()
