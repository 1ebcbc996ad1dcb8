"""Leave-one-subject-out folds: every subject held out once, never seen by its own fold's training."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from frl_core.training.config import ConfigError


class TrainingError(RuntimeError):
    """A training or evaluation run cannot go on; the message says why."""


@dataclass(frozen=True)
class Fold:
    """One LOSO fold: the held-out subject and the clip indices of its train and test sets."""

    number: int
    test_subject: str
    train_indices: np.ndarray
    test_indices: np.ndarray


def make_folds(subjects: list[str], only: list[str] | None = None) -> list[Fold]:
    """One fold per subject, in order of first appearance; ``only`` restricts which folds are run."""
    order = list(dict.fromkeys(subjects))
    if only:
        unknown = [s for s in only if s not in order]
        if unknown:
            raise ConfigError(f"protocol.subjects names unknown subject(s): {', '.join(unknown)}")
    arr = np.asarray(subjects)
    folds = []
    for number, subject in enumerate(order):
        if only and subject not in only:
            continue
        folds.append(
            Fold(number, subject, np.flatnonzero(arr != subject), np.flatnonzero(arr == subject))
        )
    return folds


def check_disjoint(folds: list[Fold], subjects: list[str]) -> None:
    """Fail loudly if any subject is in both the train and the test set of a fold."""
    arr = np.asarray(subjects)
    for fold in folds:
        overlap = set(arr[fold.train_indices]) & set(arr[fold.test_indices])
        if overlap:
            raise TrainingError(f"fold {fold.test_subject}: subject(s) {sorted(overlap)} in both train and test")


def read_fold_record(path: Path) -> dict:
    """A finished fold's record (``folds/<subject>.json``); a damaged one is a TrainingError naming it."""
    import json

    try:
        record = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise TrainingError(f"{path} is damaged ({err}); delete it to train that fold again") from err
    if not isinstance(record, dict) or "fold" not in record:
        raise TrainingError(f"{path} is not a fold record; delete it to train that fold again")
    return record
