"""Recognition metrics exactly as the MEGC2019 composite protocol defines them.

UF1 and UAR are computed once on the predictions pooled over all LOSO folds (not averaged over folds):
per class, F1 = 2TP / (2TP + FP + FN) and recall = TP / (TP + FN); then the plain mean over the classes.
On the pooled predictions every class occurs, so both are always defined. On a single fold (one held-out
subject) a class may be absent: its recall (and, if it is never predicted either, its F1) is undefined and
is left out of that fold's mean, as the reference evaluation code does by skipping it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], num_classes: int) -> np.ndarray:
    """Counts (num_classes, num_classes): rows are the true class, columns the predicted class."""
    t = np.asarray(y_true, dtype=np.int64).ravel()
    p = np.asarray(y_pred, dtype=np.int64).ravel()
    if t.shape != p.shape:
        raise ValueError(f"{t.size} labels but {p.size} predictions")
    if t.size and (t.min() < 0 or t.max() >= num_classes or p.min() < 0 or p.max() >= num_classes):
        raise ValueError(f"labels and predictions must lie in 0..{num_classes - 1}")
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (t, p), 1)
    return cm


def per_class_f1(cm: np.ndarray) -> np.ndarray:
    """F1 = 2TP / (2TP + FP + FN) per class; NaN where the class never occurs nor is predicted."""
    tp = np.diag(cm).astype(np.float64)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    denom = 2 * tp + fp + fn
    return np.divide(2 * tp, denom, out=np.full_like(tp, np.nan), where=denom > 0)


def per_class_recall(cm: np.ndarray) -> np.ndarray:
    """Recall = TP / (TP + FN) per class; NaN for a class with no samples."""
    tp = np.diag(cm).astype(np.float64)
    support = cm.sum(axis=1).astype(np.float64)
    return np.divide(tp, support, out=np.full_like(tp, np.nan), where=support > 0)


def _mean_defined(values: np.ndarray) -> float:
    defined = values[~np.isnan(values)]
    return float(defined.mean()) if defined.size else 0.0


def uf1(cm: np.ndarray) -> float:
    """Unweighted F1: the mean of the per-class F1 scores."""
    return _mean_defined(per_class_f1(cm))


def uar(cm: np.ndarray) -> float:
    """Unweighted average recall: the mean of the per-class recalls."""
    return _mean_defined(per_class_recall(cm))


@dataclass(frozen=True)
class RecognitionScores:
    """UF1, UAR and accuracy of one set of predictions, with the confusion matrix they came from."""

    uf1: float
    uar: float
    accuracy: float
    n: int
    confusion: np.ndarray

    def as_dict(self) -> dict:
        return {
            "uf1": self.uf1,
            "uar": self.uar,
            "accuracy": self.accuracy,
            "n": self.n,
            "confusion": self.confusion.tolist(),
        }


def score(y_true: Sequence[int], y_pred: Sequence[int], num_classes: int = 3) -> RecognitionScores:
    """All recognition figures for predictions pooled over however many folds they came from."""
    cm = confusion_matrix(y_true, y_pred, num_classes)
    n = int(cm.sum())
    acc = float(np.trace(cm) / n) if n else 0.0
    return RecognitionScores(uf1=uf1(cm), uar=uar(cm), accuracy=acc, n=n, confusion=cm)


def _subject_resamples(subjects: Sequence[str], resamples: int, seed: int):
    """``resamples`` index arrays, each the clips of as many subjects as there are, drawn with replacement."""
    groups = np.asarray(subjects)
    members = [np.flatnonzero(groups == s) for s in dict.fromkeys(groups.tolist())]
    rng = np.random.default_rng(seed)
    for _ in range(resamples):
        yield np.concatenate([members[i] for i in rng.integers(0, len(members), len(members))])


def _interval(values: np.ndarray) -> tuple[float, float]:
    lo, hi = np.percentile(values, [2.5, 97.5])
    return float(lo), float(hi)


@dataclass
class SubjectBootstrap:
    """95 % intervals of UF1 and UAR over resamples of the subjects (a LOSO result's other subjects of the
    same kind)."""

    uf1_interval: tuple[float, float]
    uar_interval: tuple[float, float]
    resamples: int

    def as_dict(self) -> dict:
        return {"uf1_interval": list(self.uf1_interval), "uar_interval": list(self.uar_interval),
                "resamples": self.resamples}


def subject_bootstrap(y_true: Sequence[int], y_pred: Sequence[int], subjects: Sequence[str], num_classes: int = 3,
                      resamples: int = 2000, seed: int = 0) -> SubjectBootstrap:
    """How far a pooled UF1 / UAR could move with other subjects: the clips resampled a whole subject at a time
    (a subject's clips are alike, so resampling clips would understate the spread)."""
    y, p = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    if not (len(y) == len(p) == len(subjects)) or len(y) == 0:
        raise ValueError("labels, predictions and subjects must be as many and not empty")
    f1s, recalls = np.empty(resamples), np.empty(resamples)
    for k, idx in enumerate(_subject_resamples(subjects, resamples, seed)):
        cm = confusion_matrix(y[idx], p[idx], num_classes)
        f1s[k], recalls[k] = uf1(cm), uar(cm)
    return SubjectBootstrap(_interval(f1s), _interval(recalls), resamples)


@dataclass
class PairedBootstrap:
    """Two predictors on the same clips, resampled by subject: the 95 % intervals of how often they agree and
    of how much higher the first's UF1 is (``gap``), with the point figures they surround."""

    agreement: float
    agreement_interval: tuple[float, float]
    gap: float
    gap_interval: tuple[float, float]
    resamples: int

    def as_dict(self) -> dict:
        return {"agreement": self.agreement, "agreement_interval": list(self.agreement_interval),
                "gap": self.gap, "gap_interval": list(self.gap_interval), "resamples": self.resamples}


def paired_subject_bootstrap(y_true: Sequence[int], first: Sequence[int], second: Sequence[int],
                             subjects: Sequence[str], num_classes: int = 3, resamples: int = 2000,
                             seed: int = 0) -> PairedBootstrap:
    """How far two predictors' agreement and UF1 difference could move with other subjects of the same kind.

    A composite's clips come in subjects (LOSO's folds), and a subject's clips are alike, so the clips are
    resampled a whole subject at a time; the interval says whether a target such as "within 0.02 UF1" is
    resolved by this many subjects at all."""
    y, a, b = (np.asarray(v, dtype=np.int64) for v in (y_true, first, second))
    if not (len(y) == len(a) == len(b) == len(subjects)) or len(y) == 0:
        raise ValueError("labels, both predictions and subjects must be as many and not empty")
    agreements, gaps = np.empty(resamples), np.empty(resamples)
    for k, idx in enumerate(_subject_resamples(subjects, resamples, seed)):
        agreements[k] = np.mean(a[idx] == b[idx])
        gaps[k] = uf1(confusion_matrix(y[idx], a[idx], num_classes)) - uf1(confusion_matrix(y[idx], b[idx], num_classes))
    gap = uf1(confusion_matrix(y, a, num_classes)) - uf1(confusion_matrix(y, b, num_classes))
    return PairedBootstrap(float(np.mean(a == b)), _interval(agreements), float(gap), _interval(gaps), resamples)
