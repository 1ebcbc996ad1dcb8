"""What a session has found so far, kept in the GUI thread: per-frame results and events.

Nothing here is recomputed; a failing source or export never clears it, so nothing found is lost.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from frl_core.types import Event, FrameResult


class SessionResults:
    """Per-frame results by source index, and events in the order found."""

    def __init__(self) -> None:
        self.frames: dict[int, FrameResult] = {}
        self.events: list[Event] = []
        self.faces_seen = 0

    def add_frames(self, results: list[FrameResult]) -> None:
        for r in results:
            self.frames[r.index] = r
            self.faces_seen += r.face is not None

    def add_events(self, events: list[Event]) -> None:
        self.events.extend(events)

    def frame_count(self) -> int:
        return len(self.frames)

    def ordered_frames(self) -> list[FrameResult]:
        return [self.frames[i] for i in sorted(self.frames)]

    def clear(self) -> None:
        self.frames.clear()
        self.events.clear()
        self.faces_seen = 0


def _time(t: float) -> str:
    if not math.isfinite(t):
        return ""
    minutes, seconds = divmod(t, 60.0)
    return f"{int(minutes)}:{seconds:05.2f}"


class EventsTableModel(QAbstractTableModel):
    """The events table: time, onset/apex/offset frames, kind, label and confidence."""

    COLUMNS = ("#", "apex time", "onset", "apex", "offset", "kind", "label", "confidence")

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

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        e = self.results.events[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return str(e.event_id)
            if col == 1:
                return _time(e.apex_time)
            if col in (2, 3, 4):
                return str((e.onset_index, e.apex_index, e.offset_index)[col - 2])
            if col == 5:
                return e.kind
            if col == 6:
                if e.label == "uncertain" and e.top_class is not None:
                    return f"uncertain ({e.top_class}?)"
                return e.label or "not recognised"
            if col == 7:
                return f"{e.confidence:.0%}" if math.isfinite(e.confidence) else ""
        if role == Qt.ItemDataRole.TextAlignmentRole and col != 6:
            return int(Qt.AlignmentFlag.AlignCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            probs = ", ".join(f"{k} {v:.2f}" for k, v in e.probabilities.items())
            return (f"{e.kind} movement, frames {e.onset_index}–{e.apex_index}–{e.offset_index}, "
                    f"score {e.score:.3g}" + (f"\n{probs}" if probs else ""))
        return None

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
