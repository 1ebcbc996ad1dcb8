"""SMIC-HS (Li et al., 2013): the apex table (SMIC has no official apex: the table's apex is derived) with
onset/apex/offset frame numbers and the frame paths of the original layout, e.g.
``smic/HS_long/SMIC_HS_E/s20/s20_ne_01/image17581039.jpg``.

SMIC is natively 3-class (negative, positive, surprise), which is the MEGC2019 set; it has no 5-class set.
"""

from __future__ import annotations

from pathlib import Path

from frl_core.data.common import MEGC2019_CLASSES, DatasetError
from frl_core.data.raw import (RawClip, attach_frames, column_map, find_header, read_xlsx_rows, repair_frames,
                               to_frame_number, warn)

SMIC_CLASSES: tuple[str, ...] = MEGC2019_CLASSES
_WORDS = {"ne": 0, "po": 1, "sur": 2}


def read_smic(table: str | Path, frames_root: str | Path | None = None) -> list[RawClip]:
    """Every clip of the apex table (164 SMIC-HS clips); with frames_root, only clips found there."""
    table = Path(table)
    rows = read_xlsx_rows(table)
    h = find_header(rows, "data", table)
    cols = column_map(rows[h], {
        "subject": ("subject",), "clip": ("clip",), "label": ("label",), "onset": ("onset_frame",),
        "apex": ("apex_frame",), "offset": ("offset_frame",), "onset_path": ("onset_frame_path",),
    }, table)
    clips, rel_dirs = [], {}
    for row in rows[h + 1:]:
        if not row or row[cols["clip"]] is None:
            continue
        clip = str(row[cols["clip"]]).strip()
        raw_subject = str(row[cols["subject"]]).strip()
        subject = f"s{int(raw_subject):02d}" if raw_subject.isdigit() else str(row[cols["subject"]])
        label = row[cols["label"]]
        if not isinstance(label, int) or label not in (0, 1, 2):
            word = clip.split("_")[1] if clip.count("_") >= 2 else ""
            if word not in _WORDS:
                warn(f"smic {clip}: label {label!r} is not 0/1/2 and the clip name does not say; clip skipped")
                continue
            label = _WORDS[word]
        frames = repair_frames("smic", subject, clip, to_frame_number(row[cols["onset"]]),
                               to_frame_number(row[cols["apex"]]), to_frame_number(row[cols["offset"]]))
        if frames is None:
            continue
        if row[cols["onset_path"]]:
            rel_dirs[clip] = Path(str(row[cols["onset_path"]])).parent
        clips.append(RawClip(dataset="smic", subject=subject, clip=clip, onset=frames[0], apex=frames[1],
                             offset=frames[2], emotion=SMIC_CLASSES[label], label3=label, label5=None))
    if not clips:
        raise DatasetError(f"{table} holds no SMIC clip")
    if frames_root is not None:
        root = Path(frames_root)

        def candidates(c: RawClip) -> list[Path]:
            raw_subject = c.clip.split("_")[0]
            out = [root / raw_subject / c.clip, root / c.subject / c.clip]
            rel = rel_dirs.get(c.clip)
            if rel is not None:
                out += [root / rel, root / Path(*rel.parts[1:])] if len(rel.parts) > 1 else [root / rel]
            return out

        clips = attach_frames(clips, candidates)
    return clips
