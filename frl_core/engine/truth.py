"""Ground truth from any file a researcher has: the project's JSON and CSV layouts
(:mod:`frl_core.io.ground_truth`) and the datasets' coding tables (:mod:`frl_core.data`), with emotion words
mapped to the MEGC2019 classes the recogniser names, so labels compare with predictions directly.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

from frl_core.data.common import MEGC2019_CLASSES, DatasetError, megc2019_label
from frl_core.data.raw import RawClip
from frl_core.io.ground_truth import GroundTruthError, TruthInterval, load_ground_truth, retime, stated_fps

DATASETS = ("casme2", "samm", "smic", "casme3")
CODING_TABLE_SUFFIXES = (".xlsx", ".sql3", ".sqlite", ".db")


def guess_dataset(table: str | Path) -> str | None:
    """The dataset a coding table belongs to, from its file name (casme2_coding..., SAMM_..., ...)."""
    name = Path(table).name.lower().replace("(", "").replace(")", "").replace("^", "")
    for key, words in (("casme3", ("casme3", "casme_3", "cas_me_3", "part_a")), ("casme2", ("casme2", "casme_2")),
                       ("samm", ("samm",)), ("smic", ("smic",))):
        if any(w in name for w in words):
            return key
    return None


def _reader(dataset: str) -> Callable[..., list[RawClip]]:
    if dataset == "casme2":
        from frl_core.data.casme2 import read_casme2 as reader
    elif dataset == "samm":
        from frl_core.data.samm import read_samm as reader
    elif dataset == "smic":
        from frl_core.data.smic import read_smic as reader
    elif dataset == "casme3":
        from frl_core.data.casme3 import read_casme3 as reader
    else:
        raise GroundTruthError(f"unknown dataset {dataset!r}; known: {', '.join(DATASETS)}")
    return reader


def read_coding_table(table: str | Path, dataset: str | None = None, frames_root: str | Path | None = None
                      ) -> tuple[list[RawClip], list[str]]:
    """Every clip of a coding table (with ``frames_root``: those whose frame folders are there) and the
    reader's warnings (odd rows repaired or skipped, folders not found), as one-line texts."""
    table = Path(table)
    if not table.is_file():
        raise GroundTruthError(f"coding table not found: {table}")
    dataset = dataset or guess_dataset(table)
    if dataset is None:
        raise GroundTruthError(f"cannot tell which dataset {table.name} codes: give --dataset "
                               f"({', '.join(DATASETS)})")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            clips = _reader(dataset)(table, frames_root)
        except DatasetError as err:
            raise GroundTruthError(str(err)) from None
    return clips, [str(w.message) for w in caught]


def megc_class(emotion: str | None) -> str | None:
    """The MEGC2019 class name of an emotion or class word ("happiness" -> "positive"); None if it has none."""
    if not emotion:
        return None
    label = megc2019_label(emotion)
    return MEGC2019_CLASSES[label] if label is not None else None


def coding_table_truth(table: str | Path, clip: str, dataset: str | None = None) -> list[TruthInterval]:
    """The coded movements of one clip (``sub01/EP02_01f`` or ``EP02_01f``) in the dataset's frame numbers."""
    clips, _ = read_coding_table(table, dataset)
    wanted = clip.replace("\\", "/").strip("/")
    rows = [c for c in clips if f"{c.subject}/{c.clip}" == wanted or c.clip == wanted]
    if not rows:
        raise GroundTruthError(f"{Path(table).name} codes no clip {clip!r} (e.g. {clips[0].subject}/{clips[0].clip})")
    return [TruthInterval(c.onset, c.offset, c.apex, "micro", megc_class(c.emotion) or c.emotion or None,
                          f"{c.subject}_{c.clip}") for c in rows]


def load_truth(path: str | Path, clip: str | None = None, dataset: str | None = None,
               fps: float | None = None) -> list[TruthInterval]:
    """Ground truth for one input from JSON, CSV/text or a coding table (which needs ``clip``).

    Labels that are emotion words become MEGC2019 class names. Intervals from a coding table are in the
    dataset's frame numbers (map them with ``io.ground_truth.to_source_indices``); all others in frame
    indices. With ``fps`` (the input's own frame rate, as its file states it), a JSON file that counts its
    frames at another rate is mapped onto the input's frames by time (:func:`rate_note` says so). Raises
    GroundTruthError with a one-line message.
    """
    path = Path(path)
    if path.suffix.lower() in CODING_TABLE_SUFFIXES:
        if clip is None:
            raise GroundTruthError(f"{path.name} is a coding table: name the clip analysed with --truth-clip "
                                   "(e.g. sub01/EP02_01f)")
        return coding_table_truth(path, clip, dataset)
    truth = load_ground_truth(path, clip)
    truth = [TruthInterval(t.onset, t.offset, t.apex, t.kind, megc_class(t.label) or t.label, t.video) for t in truth]
    coded_at = _other_rate(path, fps)
    return retime(truth, coded_at, fps) if coded_at is not None and fps is not None else truth


def _other_rate(path: Path, fps: float | None) -> float | None:
    coded_at = stated_fps(path)
    if fps is None or coded_at is None or abs(coded_at / fps - 1.0) < 0.005:
        return None
    return coded_at


def rate_note(path: str | Path, fps: float | None) -> str | None:
    """One line saying that ``path`` counts frames at another rate than the input and was mapped by time."""
    coded_at = _other_rate(Path(path), fps)
    if coded_at is None or fps is None:
        return None
    return (f"{Path(path).name} counts frames at {coded_at:g} fps, the input runs at {fps:g} fps: "
            "its intervals were mapped onto the input's frames by time")


def is_coding_table(path: str | Path) -> bool:
    return Path(path).suffix.lower() in CODING_TABLE_SUFFIXES
