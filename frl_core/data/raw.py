"""What the raw-dataset readers share: the clip record, frame-folder lookup, quirk repair, and the
onset/apex loading that turns a licensed dataset into training samples.

The coding tables come with the datasets (CASME II, SAMM, SMIC-HS, CAS(ME)^3); their frame folders only
with a licence. Every reader works on the table alone (frames_root=None) and, when a frames root is
given, checks each clip's folder and frame numbers. Odd rows are repaired or skipped with a
``DatasetWarning`` that names the clip, never with a crash.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from frl_core.data.common import DatasetError, DatasetWarning

_TRAILING_NUMBER = re.compile(r"(\d+)\D*$")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff"}


@dataclass(frozen=True)
class RawClip:
    """One coded clip of a raw dataset: frame numbers, emotion word, 3-class and N-class labels, folder."""

    dataset: str
    subject: str
    clip: str
    onset: int
    apex: int
    offset: int
    emotion: str
    label3: int | None
    label5: int | None
    action_units: str = ""
    frame_dir: Path | None = None

    @property
    def key(self) -> str:
        return f"{self.dataset}/{self.subject}/{self.clip}/{self.onset}"


def warn(message: str) -> None:
    warnings.warn(message, DatasetWarning, stacklevel=3)


def to_frame_number(value: object) -> int | None:
    """A coding-table cell as a frame number; None for '/', '-1', blanks and other non-numbers."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value) if value >= 0 else None
    if isinstance(value, float):
        return int(value) if value == value and value >= 0 else None
    text = str(value).strip()
    return int(text) if text.isdigit() else None


def frame_index(folder: Path) -> dict[int, Path]:
    """Frame number -> file, from the trailing digits of each image's name (img46.jpg, 006_05562.jpg, 12.jpg)."""
    out: dict[int, Path] = {}
    for path in folder.iterdir():
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        m = _TRAILING_NUMBER.search(path.stem)
        if m:
            out[int(m.group(1))] = path
    return out


def repair_frames(dataset: str, subject: str, clip: str, onset: int | None, apex: int | None,
                  offset: int | None) -> tuple[int, int, int] | None:
    """Fill an unknown apex ('/' in the tables) with the onset-offset midpoint and order the three.

    Returns None (with a warning) when the onset itself is unknown: such a clip cannot be used.
    """
    name = f"{dataset} {subject}/{clip}"
    if onset is None:
        warn(f"{name}: no onset frame in the coding table; clip skipped")
        return None
    if offset is None or offset < onset:
        fallback = apex if apex is not None and apex >= onset else onset
        warn(f"{name}: offset frame unknown or before the onset; offset set to {fallback}")
        offset = fallback
    if apex is None:
        apex = (onset + offset) // 2
        warn(f"{name}: apex frame unknown ('/'); using the onset-offset midpoint {apex}")
    elif not onset <= apex <= offset:
        clamped = min(max(apex, onset), offset)
        warn(f"{name}: apex {apex} outside onset-offset {onset}-{offset}; clamped to {clamped}")
        apex = clamped
    return onset, apex, offset


def attach_frames(clips: Iterable[RawClip], candidates: Callable[[RawClip], list[Path]]) -> list[RawClip]:
    """Find each clip's frame folder and check its coded frames exist; skip or repair with a warning.

    candidates(clip) lists the folders where that clip's frames may lie (the layouts the owners used).
    Coded frames missing from the folder (the tables and the distributed folders disagree for some
    clips) are moved to the nearest existing frame number.
    """
    out = []
    for clip in clips:
        folder = next((p for p in candidates(clip) if p.is_dir()), None)
        name = f"{clip.dataset} {clip.subject}/{clip.clip}"
        if folder is None:
            warn(f"{name}: frame folder not found; clip skipped")
            continue
        index = frame_index(folder)
        if not index:
            warn(f"{name}: no image in {folder}; clip skipped")
            continue
        numbers = np.array(sorted(index))
        fixed = {}
        for field in ("onset", "apex", "offset"):
            n = getattr(clip, field)
            if n not in index:
                nearest = int(numbers[np.argmin(np.abs(numbers - n))])
                fixed[field] = nearest
        if fixed:
            warn(f"{name}: coded frame(s) {', '.join(f'{k} {getattr(clip, k)}' for k in fixed)} not in {folder} "
                 f"(it holds {numbers[0]}-{numbers[-1]}); using the nearest frame(s) "
                 f"{', '.join(str(v) for v in fixed.values())}")
        clip = replace(clip, frame_dir=folder, **fixed)
        if not clip.onset <= clip.apex <= clip.offset:
            clip = replace(clip, apex=min(max(clip.apex, clip.onset), clip.offset))
        out.append(clip)
    return out


def read_frame(clip: RawClip, number: int) -> np.ndarray:
    """One frame of a clip as uint8 grayscale."""
    if clip.frame_dir is None:
        raise DatasetError(f"{clip.key}: no frame folder (read the table with a frames root)")
    path = frame_index(clip.frame_dir).get(number)
    img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE) if path is not None else None
    if img is None:
        raise DatasetError(f"{clip.key}: cannot read frame {number} in {clip.frame_dir}")
    return img


def megc_style_flow(onset: np.ndarray, apex: np.ndarray, size: int = 28) -> np.ndarray:
    """A flow image made from the clip's frames as the MEGC2019 composite's were made
    (``frl_core.motion.flow_image``: the crop at 224, TV-L1, u, v and strain at ``size``, per-channel min-max),
    in OpenCV channel order (strain, v, u) as cv2.imread returns the composite's PNGs."""
    from frl_core.motion.flow_image import composite_face, flow_image, tvl1_flow

    return flow_image(tvl1_flow(composite_face(onset), composite_face(apex)), size)


def read_xlsx_rows(path: Path, sheet: int = 0) -> list[tuple]:
    """All rows of one sheet as value tuples (openpyxl, read-only)."""
    import openpyxl

    if not Path(path).is_file():
        raise DatasetError(f"coding table not found: {path}")
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several unrelated types for a broken file
        raise DatasetError(f"cannot read the coding table {path}: {exc}") from None
    try:
        return [tuple(r) for r in wb.worksheets[sheet].iter_rows(values_only=True)]
    finally:
        wb.close()


def find_header(rows: list[tuple], first_cell: str, path: Path) -> int:
    """Index of the header row (SAMM puts title and note rows above it)."""
    for i, row in enumerate(rows):
        if row and row[0] is not None and str(row[0]).strip().lower() == first_cell.lower():
            return i
    raise DatasetError(f"{path}: no header row starting with {first_cell!r}")


def column_map(header: tuple, wanted: dict[str, tuple[str, ...]], path: Path) -> dict[str, int]:
    """Column index of each wanted field, matched case-insensitively against a few spellings."""
    names = [str(h).strip().lower() if h is not None else "" for h in header]
    out = {}
    for field, spellings in wanted.items():
        for s in spellings:
            if s.lower() in names:
                out[field] = names.index(s.lower())
                break
        else:
            raise DatasetError(f"{path}: no column {spellings[0]!r} in the header")
    return out
