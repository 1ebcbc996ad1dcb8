"""Action units of the MEGC2019 composite's clips, from the CASME II and SAMM coding tables (SMIC has none).

The tables write AUs as FACS codes with laterality and intensity marks: "4+L10", "R12+25", "4D+9B",
"A1B+A2C", "T18+39", "ref(7B)+43", "(R6 or R12)+R15", "?". Only the AU number is kept (a mirrored flow
image shows the same AUs, so laterality must not matter), "ref(...)" (an AU the coder refers to, not one
of this movement) and "X or Y" (the coder was unsure which) add nothing, and a clip without any readable
AU ("?", empty) is unknown rather than "no AU". The auxiliary AU head of FRL-DGT learns the AUs of
:data:`COMPOSITE_AU_VOCABULARY`, those coded in at least ten composite clips.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np

COMPOSITE_AU_VOCABULARY: tuple[int, ...] = (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17)
"""AUs coded in >= 10 of the 275 composite clips with readable AUs (counts in docs/figures.md)."""

_REF = re.compile(r"ref\([^)]*\)", re.IGNORECASE)
_AU_NUMBER = re.compile(r"^(?:AU)?[A-Za-z/]*?(\d+)", re.IGNORECASE)


def parse_action_units(text: str | None) -> frozenset[int] | None:
    """The AU numbers a coding-table cell names, or None when it names none (unknown, not "no AU")."""
    if text is None:
        return None
    text = _REF.sub("", str(text))
    aus: set[int] = set()
    for token in text.split("+"):
        token = token.strip().strip("()").strip()
        if not token or len(re.split(r"\s+or\s+", token)) > 1:
            continue
        match = _AU_NUMBER.match(token)
        if match:
            aus.add(int(match.group(1)))
    return frozenset(aus) if aus else None


def composite_action_units(annotations: str | Path) -> dict[str, frozenset[int]]:
    """Composite clip key ("casme2/sub01/EP02_01f", "samm/006/006_1_2") -> its AUs, for every row of the
    CASME II and SAMM coding tables in ``annotations`` whose AUs are readable; {} when a table is absent."""
    from frl_core.data.casme2 import read_casme2
    from frl_core.data.common import DatasetWarning
    from frl_core.data.samm import read_samm

    annotations = Path(annotations)
    out: dict[str, frozenset[int]] = {}
    for reader, name in ((read_casme2, "casme2_coding_20140508.xlsx"), (read_samm, "samm_micro_facs_codes_v2.xlsx")):
        table = annotations / name
        if not table.is_file():
            continue
        with warnings.catch_warnings():
            # the tables' frame-number repairs concern the frames, not the AUs read here
            warnings.simplefilter("ignore", DatasetWarning)
            clips = reader(table)
        for clip in clips:
            aus = parse_action_units(clip.action_units)
            if aus is not None:
                out[f"{clip.dataset}/{clip.subject}/{clip.clip}"] = aus
    return out


def au_targets(keys: list[str], coded: dict[str, frozenset[int]],
               vocabulary: tuple[int, ...] = COMPOSITE_AU_VOCABULARY) -> tuple[np.ndarray, np.ndarray]:
    """Multi-hot targets float32 (N, K) over ``vocabulary`` and a bool (N,) mask of the clips whose AUs
    are known; an unknown clip's row is all zero and must not count in the loss."""
    targets = np.zeros((len(keys), len(vocabulary)), np.float32)
    known = np.zeros(len(keys), bool)
    for i, key in enumerate(keys):
        aus = coded.get(key)
        if aus is None:
            continue
        known[i] = True
        targets[i] = [au in aus for au in vocabulary]
    return targets, known
