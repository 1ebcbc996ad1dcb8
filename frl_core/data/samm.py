"""SAMM (Davison et al., 2016): ``SAMM_Micro_FACS_Codes_v2.xlsx`` (title and note rows above the header)
and the ``SUBJECT/CLIP/SUBJECT_NNNNN.jpg`` frame folders.
"""

from __future__ import annotations

from pathlib import Path

from frl_core.data.common import DatasetError, megc2019_label, normalise_emotion
from frl_core.data.raw import (RawClip, attach_frames, column_map, find_header, read_xlsx_rows, repair_frames,
                               to_frame_number)

# The usual SAMM 5-class set (136 clips); disgust, fear and sadness are dropped from it.
SAMM_5CLASS: tuple[str, ...] = ("anger", "happiness", "contempt", "surprise", "other")


def _subject(value: object) -> str:
    text = str(value).strip()
    return f"{int(text):03d}" if text.isdigit() else text


def read_samm(table: str | Path, frames_root: str | Path | None = None) -> list[RawClip]:
    """Every coded micro-expression (159 in v2); with frames_root, only clips found there."""
    table = Path(table)
    rows = read_xlsx_rows(table)
    h = find_header(rows, "Subject", table)
    cols = column_map(rows[h], {
        "subject": ("Subject",), "filename": ("Filename",), "onset": ("Onset Frame", "Onset"),
        "apex": ("Apex Frame", "Apex"), "offset": ("Offset Frame", "Offset"), "aus": ("Action Units",),
        "emotion": ("Estimated Emotion", "Emotion"),
    }, table)
    clips = []
    for row in rows[h + 1:]:
        if not row or row[cols["subject"]] is None or row[cols["filename"]] is None:
            continue
        subject = _subject(row[cols["subject"]])
        filename = str(row[cols["filename"]]).strip()
        frames = repair_frames("samm", subject, filename, to_frame_number(row[cols["onset"]]),
                               to_frame_number(row[cols["apex"]]), to_frame_number(row[cols["offset"]]))
        if frames is None:
            continue
        emo = normalise_emotion(row[cols["emotion"]])
        clips.append(RawClip(
            dataset="samm", subject=subject, clip=filename, onset=frames[0], apex=frames[1], offset=frames[2],
            emotion=emo, label3=megc2019_label(emo), label5=SAMM_5CLASS.index(emo) if emo in SAMM_5CLASS else None,
            action_units="" if row[cols["aus"]] is None else str(row[cols["aus"]]),
        ))
    if not clips:
        raise DatasetError(f"{table} holds no SAMM clip")
    if frames_root is not None:
        root = Path(frames_root)
        clips = attach_frames(clips, lambda c: [root / c.subject / c.clip, root / "SAMM" / c.subject / c.clip])
    return clips
