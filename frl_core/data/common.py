"""Errors, warnings and the label mappings shared by the dataset readers."""

from __future__ import annotations

MEGC2019_CLASSES: tuple[str, ...] = ("negative", "positive", "surprise")

# The official MEGC2019 composite mapping from the datasets' own emotion words to 3 classes.
# Anything not listed here (others, ...) is dropped from the 3-class set.
MEGC2019_MAPPING: dict[str, int] = {
    "repression": 0,
    "anger": 0,
    "contempt": 0,
    "disgust": 0,
    "fear": 0,
    "sadness": 0,
    "sad": 0,
    "negative": 0,
    "happiness": 1,
    "happy": 1,
    "positive": 1,
    "surprise": 2,
}


class DatasetError(ValueError):
    """A dataset folder or coding table cannot be used; the message says what to fix."""


class DatasetWarning(UserWarning):
    """A row of a coding table was odd (unknown apex, frames outside the folder, ...) and was repaired or skipped."""


def normalise_emotion(word: object) -> str:
    """Lower-case, stripped emotion word ('Happiness ' -> 'happiness'); '' for an empty cell."""
    return str(word).strip().lower() if word is not None else ""


def megc2019_label(emotion: str) -> int | None:
    """The 3-class MEGC2019 label of a dataset's emotion word, or None when MEGC2019 drops it."""
    return MEGC2019_MAPPING.get(normalise_emotion(emotion))
