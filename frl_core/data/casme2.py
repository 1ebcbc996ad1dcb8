"""CASME II (Yan et al., 2014): the coding table ``CASME2-coding-*.xlsx`` and the ``subXX/EPxx_xx/imgN.jpg``
frame folders (``reg_imgN.jpg`` in the cropped release). The BOB database of CASME II (sqlite) is read too:
it holds the same codes plus two clips the xlsx lacks, with apex -1 where the xlsx writes "/".
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from frl_core.data.common import DatasetError, megc2019_label, normalise_emotion
from frl_core.data.raw import (RawClip, attach_frames, column_map, find_header, read_xlsx_rows, repair_frames,
                               to_frame_number, warn)

# The usual CASME II 5-class set; fear and sadness (9 clips) are dropped from it.
CASME2_5CLASS: tuple[str, ...] = ("happiness", "disgust", "repression", "surprise", "others")


def _subject(value: object) -> str:
    text = str(value).strip()
    if text.lower().startswith("sub"):
        text = text[3:]
    return f"sub{int(text):02d}" if text.isdigit() else f"sub{text}"


def _clip(dataset_subject: str, filename: str, onset, apex, offset, emotion: object, aus: object) -> RawClip | None:
    frames = repair_frames("casme2", dataset_subject, filename, to_frame_number(onset), to_frame_number(apex),
                           to_frame_number(offset))
    if frames is None:
        return None
    emo = normalise_emotion(emotion)
    return RawClip(
        dataset="casme2", subject=dataset_subject, clip=filename, onset=frames[0], apex=frames[1], offset=frames[2],
        emotion=emo, label3=megc2019_label(emo),
        label5=CASME2_5CLASS.index(emo) if emo in CASME2_5CLASS else None,
        action_units="" if aus is None else str(aus),
    )


def frame_dir_candidates(root: Path):
    def candidates(clip: RawClip) -> list[Path]:
        return [base / clip.subject / clip.clip for base in (root, root / "CASME2-RAW", root / "CASME2_RAW_selected",
                                                           root / "Cropped", root / "CASME2_Cropped")]
    return candidates


def read_casme2(table: str | Path, frames_root: str | Path | None = None) -> list[RawClip]:
    """Every coded clip of the xlsx (255 in the 2014-05-08 table); with frames_root, only clips found there."""
    table = Path(table)
    if table.suffix.lower() in (".sql3", ".sqlite", ".db"):
        clips = read_casme2_bob_db(table)
    else:
        rows = read_xlsx_rows(table)
        h = find_header(rows, "Subject", table)
        cols = column_map(rows[h], {
            "subject": ("Subject",), "filename": ("Filename",), "onset": ("OnsetFrame", "Onset Frame"),
            "apex": ("ApexFrame", "Apex Frame"), "offset": ("OffsetFrame", "Offset Frame"),
            "aus": ("Action Units",), "emotion": ("Estimated Emotion", "Emotion"),
        }, table)
        clips = []
        for row in rows[h + 1:]:
            if not row or row[cols["subject"]] is None or row[cols["filename"]] is None:
                continue
            c = _clip(_subject(row[cols["subject"]]), str(row[cols["filename"]]).strip(), row[cols["onset"]],
                      row[cols["apex"]], row[cols["offset"]], row[cols["emotion"]], row[cols["aus"]])
            if c is not None:
                clips.append(c)
    if not clips:
        raise DatasetError(f"{table} holds no CASME II clip")
    if frames_root is not None:
        clips = attach_frames(clips, frame_dir_candidates(Path(frames_root)))
    return clips


def read_casme2_bob_db(path: str | Path) -> list[RawClip]:
    """The BOB sqlite database of CASME II (257 clips); apex -1 means unknown and is repaired with a warning."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"CASME II database not found: {path}")
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = con.execute('SELECT id, path, client_id, emotion, onset, apex, "offset" FROM file ORDER BY id').fetchall()
        aus: dict[int, list[str]] = {}
        for file_id, au in con.execute("SELECT file_id, actionunit FROM actionunits"):
            aus.setdefault(file_id, []).append(str(au))
    except sqlite3.DatabaseError as exc:
        raise DatasetError(f"{path} is not the CASME II BOB database: {exc}") from None
    finally:
        con.close()
    clips = []
    for file_id, clip_path, client, emotion, onset, apex, offset in rows:
        c = _clip(_subject(client), Path(clip_path).name, onset, apex, offset, emotion, "+".join(aus.get(file_id, [])))
        if c is not None:
            clips.append(c)
    return clips


def bob_db_frame_ranges(path: str | Path) -> dict[tuple[str, str], tuple[int, int, int]]:
    """(subject, clip) -> (first, last, count) of the frame numbers the database lists for the clip's folder."""
    con = sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT f.path, f.client_id, MIN(fr.frame_no), MAX(fr.frame_no), COUNT(fr.id) "
            "FROM file f JOIN frame fr ON fr.file_id = f.id GROUP BY f.id"
        ).fetchall()
    finally:
        con.close()
    return {(_subject(client), Path(p).name): (lo, hi, n) for p, client, lo, hi, n in rows}


def check_against_frame_ranges(clips: list[RawClip], ranges: dict[tuple[str, str], tuple[int, int, int]]) -> list[RawClip]:
    """Clips whose coded onset/apex/offset fall outside the frames their folder holds (warned, not dropped)."""
    outside = []
    for c in clips:
        r = ranges.get((c.subject, c.clip))
        if r is None:
            continue
        lo, hi, _ = r
        bad = [f"{k} {getattr(c, k)}" for k in ("onset", "apex", "offset") if not lo <= getattr(c, k) <= hi]
        if bad:
            warn(f"casme2 {c.subject}/{c.clip}: {', '.join(bad)} outside the folder's frames {lo}-{hi}")
            outside.append(c)
    return outside
