"""A coder's review of the machine's events, in the CASME II coding-table layout.

A coder accepts, rejects, relabels and moves the onset, apex and offset of the events the engine found.
The review is kept apart from the machine's results (which are never overwritten) and is written as a
CSV whose first seven columns are those of the CASME II coding table (``Subject, Filename, OnsetFrame,
ApexFrame, OffsetFrame, Action Units, Estimated Emotion``), so the dataset readers and a spreadsheet read
it as they read CASME II; review columns follow (``Status, Machine Event, Machine Label, Kind, Note``).
Rejected events are kept in the file with ``Status = rejected`` so that a review can be re-opened whole;
a reader of the coding table alone drops them. Frame numbers are the source's frame indices (from 0).
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from frl_core.io.exports import ExportError, _text
from frl_core.types import Event

CODING_COLUMNS = ("Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units",
                  "Estimated Emotion")
REVIEW_COLUMNS = ("Status", "Machine Event", "Machine Label", "Kind", "Note")
STATUSES = ("unreviewed", "accepted", "rejected")


class CodingError(ValueError):
    """A coding table that cannot be read, or an edit that makes no sense (an apex after the offset)."""


@dataclass(frozen=True)
class CodedEvent:
    """One event as the coder left it."""

    onset: int
    apex: int
    offset: int
    emotion: str
    status: str = "unreviewed"
    action_units: str = ""
    machine_event: int | None = None
    machine_label: str = ""
    kind: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise CodingError(f"status must be one of {', '.join(STATUSES)}, got {self.status!r}")
        if not 0 <= self.onset <= self.apex <= self.offset:
            raise CodingError(f"onset <= apex <= offset is needed, got {self.onset}, {self.apex}, {self.offset}")

    @classmethod
    def from_event(cls, event: Event) -> CodedEvent:
        """The machine's event, not reviewed yet."""
        label = event.label or ""
        return cls(event.onset_index, event.apex_index, event.offset_index, label, "unreviewed",
                   machine_event=event.event_id, machine_label=label, kind=event.kind)

    def edited(self, **changes) -> CodedEvent:
        """A copy with ``changes`` (checked like a new one)."""
        return dataclasses.replace(self, **changes)


def review_of(events: Iterable[Event]) -> dict[int, CodedEvent]:
    """A fresh review: every machine event unreviewed, by event id."""
    return {e.event_id: CodedEvent.from_event(e) for e in events}


def write_coding_table(path: str | Path, coded: Sequence[CodedEvent], subject: str, filename: str) -> Path:
    """Write the review (every event, rejected ones marked) as a CASME II-layout CSV; atomic."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(CODING_COLUMNS + REVIEW_COLUMNS)
            for c in sorted(coded, key=lambda c: (c.onset, c.apex)):
                writer.writerow([_text(subject), _text(filename), c.onset, c.apex, c.offset, _text(c.action_units),
                                 _text(c.emotion), c.status, "" if c.machine_event is None else c.machine_event,
                                 _text(c.machine_label), _text(c.kind), _text(c.note)])
        tmp.replace(path)
    except OSError as err:
        raise ExportError(f"cannot write {path}: {err.strerror or err}") from err
    return path


def _untext(value: str) -> str:
    """Undo the apostrophe that keeps a formula-like cell text."""
    return value[1:] if value[:1] == "'" and value[1:2] in ("=", "+", "-", "@", "\t", "\r") else value


def _frame(row: dict, column: str, path: Path, line: int) -> int:
    try:
        return int(float(row[column]))
    except (TypeError, ValueError):
        raise CodingError(f"{path}, line {line}: {column} is not a frame number ({row.get(column)!r})") from None


def read_coding_table(path: str | Path) -> list[CodedEvent]:
    """The coded events of a CSV in the CASME II layout (with or without the review columns)."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            rows = list(reader)
            header = tuple(reader.fieldnames or ())
    except FileNotFoundError:
        raise CodingError(f"coding table not found: {path}") from None
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise CodingError(f"cannot read the coding table {path}: {err}") from None
    missing = [c for c in ("OnsetFrame", "ApexFrame", "OffsetFrame", "Estimated Emotion") if c not in header]
    if missing:
        raise CodingError(f"{path} is not a coding table: no column {missing[0]!r}")
    if not rows:
        raise CodingError(f"{path} holds no coded event")
    coded = []
    for line, row in enumerate(rows, start=2):
        machine = (row.get("Machine Event") or "").strip()
        try:
            coded.append(CodedEvent(
                _frame(row, "OnsetFrame", path, line), _frame(row, "ApexFrame", path, line),
                _frame(row, "OffsetFrame", path, line), _untext((row.get("Estimated Emotion") or "").strip()),
                (row.get("Status") or "accepted").strip() or "accepted",
                _untext((row.get("Action Units") or "").strip()),
                int(float(machine)) if machine else None, _untext((row.get("Machine Label") or "").strip()),
                _untext((row.get("Kind") or "").strip()), _untext((row.get("Note") or "").strip())))
        except (CodingError, ValueError) as err:
            raise CodingError(f"{path}, line {line}: {err}") from None
    return coded


def match_review(events: Sequence[Event], coded: Sequence[CodedEvent]) -> tuple[dict[int, CodedEvent], int]:
    """Attach re-imported coded events to the machine's events: by ``Machine Event`` id when its frames
    still overlap, else by the largest overlap of onset..offset. Returns the review by event id and how many
    coded events matched no machine event."""
    review = review_of(events)
    by_id = {e.event_id: e for e in events}
    unmatched = 0
    for c in coded:
        event = by_id.get(c.machine_event) if c.machine_event is not None else None
        if event is None or _overlap(event, c) <= 0:
            candidates = [(e, _overlap(e, c)) for e in events]
            event, best = max(candidates, key=lambda x: x[1], default=(None, 0))
            if best <= 0:
                unmatched += 1
                continue
        review[event.event_id] = c.edited(machine_event=event.event_id, machine_label=event.label or "",
                                          kind=c.kind or event.kind)
    return review, unmatched


def _overlap(event: Event, coded: CodedEvent) -> int:
    return min(event.offset_index, coded.offset) - max(event.onset_index, coded.onset) + 1
