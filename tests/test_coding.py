"""A coder's review in the CASME II coding-table layout: written, read back, matched to the machine's events."""

from __future__ import annotations

import csv

import pytest

from frl_core.data.casme2 import read_casme2
from frl_core.io.coding import (CODING_COLUMNS, CodedEvent, CodingError, match_review, read_coding_table, review_of,
                                write_coding_table)
from frl_core.types import Event


def _event(event_id: int, onset: int, apex: int, offset: int, label: str = "positive") -> Event:
    return Event(event_id, onset, apex, offset, onset / 30, apex / 30, offset / 30, "micro", 1.0, label,
                 {"negative": 0.1, "positive": 0.8, "surprise": 0.1})


def test_a_review_round_trips_and_keeps_the_casme2_columns_first(tmp_path):
    events = [_event(1, 30, 36, 44), _event(2, 100, 104, 110, "negative"), _event(3, 200, 205, 212)]
    review = review_of(events)
    review[1] = review[1].edited(status="accepted", emotion="happiness", action_units="6+12", apex=37)
    review[2] = review[2].edited(status="rejected", note="=blink, not an expression")
    path = write_coding_table(tmp_path / "review.csv", list(review.values()), "sub01", "EP02_01f")
    with open(path, newline="") as fh:
        header = next(csv.reader(fh))
    assert tuple(header[:7]) == CODING_COLUMNS
    again = read_coding_table(path)
    assert [(c.onset, c.apex, c.offset, c.status) for c in again] == [
        (30, 37, 44, "accepted"), (100, 104, 110, "rejected"), (200, 205, 212, "unreviewed")]
    assert again[0].emotion == "happiness" and again[0].action_units == "6+12" and again[0].machine_label == "positive"
    assert again[1].note == "=blink, not an expression"  # kept as text in a spreadsheet, read back as written
    matched, unmatched = match_review(events, again)
    assert unmatched == 0 and matched[1].apex == 37 and matched[2].status == "rejected"


def test_machine_results_are_untouched_and_a_table_without_review_columns_reads_as_accepted(tmp_path):
    events = [_event(1, 30, 36, 44)]
    review_of(events)[1].edited(emotion="surprise")
    assert events[0].label == "positive"
    plain = tmp_path / "plain.csv"
    plain.write_text("Subject,Filename,OnsetFrame,ApexFrame,OffsetFrame,Action Units,Estimated Emotion\n"
                     "1,clip,28,35,45,12,happiness\n1,clip,300,305,310,4,disgust\n")
    coded = read_coding_table(plain)
    assert [c.status for c in coded] == ["accepted", "accepted"]
    review, unmatched = match_review(events, coded)
    assert review[1].emotion == "happiness" and (review[1].onset, review[1].offset) == (28, 45) and unmatched == 1


def test_bad_edits_and_bad_tables_are_one_line_errors(tmp_path):
    with pytest.raises(CodingError, match="onset <= apex <= offset"):
        CodedEvent(30, 50, 40, "positive")
    with pytest.raises(CodingError, match="status must be"):
        CodedEvent(30, 35, 40, "positive", status="maybe")
    with pytest.raises(CodingError, match="not found"):
        read_coding_table(tmp_path / "none.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("Subject,Filename,OnsetFrame,ApexFrame,OffsetFrame,Estimated Emotion\n1,c,ten,12,14,happiness\n")
    with pytest.raises(CodingError, match="line 2: OnsetFrame is not a frame number"):
        read_coding_table(bad)
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(CodingError, match="not a coding table"):
        read_coding_table(other)


def test_the_casme2_reader_reads_a_written_review_as_a_coding_table(tmp_path):
    """Interoperability: our export is a CASME II coding table as far as the dataset reader is concerned."""
    openpyxl = pytest.importorskip("openpyxl")
    coded = [CodedEvent(46, 59, 86, "happiness", "accepted", "12")]
    path = write_coding_table(tmp_path / "review.csv", coded, "01", "EP02_01f")
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append([int(v) if v.isdigit() else v for v in row])
    book.save(tmp_path / "review.xlsx")
    clips = read_casme2(tmp_path / "review.xlsx")
    assert [(c.subject, c.clip, c.onset, c.apex, c.offset, c.label3) for c in clips] == [
        ("sub01", "EP02_01f", 46, 59, 86, 1)]
