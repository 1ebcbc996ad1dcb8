"""CAS(ME)^3 part A (Li et al., 2022): the label sheet (Subject, Filename, Onset, Apex, Offset, AU,
Objective class, emotion; 860 rows) and ``spNO.X/<task>/color/N.jpg`` frame folders.

Its labels: the MEGC2019 3-class mapping, its authors' 4-class set (negative, positive, surprise, others)
and 7-class set (its own emotion words). CAS(ME)^3 has no established 5-class set, so none is invented:
``label5`` is None and ``label4``/``label7`` are given by the functions below.
"""

from __future__ import annotations

from pathlib import Path

from frl_core.data.common import DatasetError, megc2019_label, normalise_emotion
from frl_core.data.raw import (RawClip, attach_frames, column_map, find_header, read_xlsx_rows, repair_frames,
                               to_frame_number)

CASME3_4CLASS: tuple[str, ...] = ("negative", "positive", "surprise", "others")
CASME3_7CLASS: tuple[str, ...] = ("disgust", "surprise", "others", "fear", "anger", "sad", "happy")


def label4(clip: RawClip) -> int:
    """negative / positive / surprise / others (the 3-class mapping plus 'others' for the rest)."""
    return clip.label3 if clip.label3 is not None else 3


def label7(clip: RawClip) -> int | None:
    return CASME3_7CLASS.index(clip.emotion) if clip.emotion in CASME3_7CLASS else None


def read_casme3(table: str | Path, frames_root: str | Path | None = None) -> list[RawClip]:
    """Every coded clip of part A (860; several per task video, told apart by their onset)."""
    table = Path(table)
    rows = read_xlsx_rows(table)
    h = find_header(rows, "Subject", table)
    cols = column_map(rows[h], {
        "subject": ("Subject",), "filename": ("Filename",), "onset": ("Onset",), "apex": ("Apex",),
        "offset": ("Offset",), "aus": ("AU",), "emotion": ("emotion",),
    }, table)
    clips = []
    for row in rows[h + 1:]:
        if not row or row[cols["subject"]] is None or row[cols["filename"]] is None:
            continue
        subject, filename = str(row[cols["subject"]]).strip(), str(row[cols["filename"]]).strip()
        frames = repair_frames("casme3", subject, filename, to_frame_number(row[cols["onset"]]),
                               to_frame_number(row[cols["apex"]]), to_frame_number(row[cols["offset"]]))
        if frames is None:
            continue
        emo = normalise_emotion(row[cols["emotion"]])
        clips.append(RawClip(dataset="casme3", subject=subject, clip=filename, onset=frames[0], apex=frames[1],
                             offset=frames[2], emotion=emo, label3=megc2019_label(emo), label5=None,
                             action_units="" if row[cols["aus"]] is None else str(row[cols["aus"]])))
    if not clips:
        raise DatasetError(f"{table} holds no CAS(ME)^3 clip")
    if frames_root is not None:
        root = Path(frames_root)
        clips = attach_frames(clips, lambda c: [root / c.subject / c.clip / "color", root / c.subject / c.clip,
                                                root / "part_A" / c.subject / c.clip / "color"])
    return clips
