"""Calibrated probabilities and the "uncertain" outcome, fitted on training subjects only.

A softmax output is not a probability a user can read as one: trained to convergence on a few hundred
clips the network is over-confident. Temperature scaling (one scalar dividing the logits, Guo et al. 2017)
fixes that without changing which class wins for a single view. Inside each LOSO fold the temperature is
fitted on held-out predictions of the *training* subjects (an inner subject-grouped cross-validation
with the same recipe), never on the test subject, and so is the threshold under which a label becomes
``uncertain``: the top probability at which the inner held-out predictions were right ``max_accuracy``
of the time (as likely wrong as right, by default), from a logistic fit of being right on the top
probability.

Expected calibration error (ECE): predictions binned by top probability into ``bins`` equal-width bins;
the mean over bins of |accuracy - mean confidence|, weighted by the bin's share of predictions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np

TEMPERATURE_RANGE = (0.05, 20.0)


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64) / float(temperature)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def calibrated_probabilities(logits: np.ndarray, mirrored: np.ndarray | None = None, temperature: float = 1.0
                             ) -> np.ndarray:
    """Softmax of logits / T, averaged with the mirrored view's when there is one (the recipe's TTA)."""
    p = softmax(logits, temperature)
    if mirrored is not None:
        p = (p + softmax(mirrored, temperature)) / 2
    return p


def negative_log_likelihood(probs: np.ndarray, labels: np.ndarray) -> float:
    p = probs[np.arange(len(labels)), np.asarray(labels, dtype=np.int64)]
    return float(-np.log(np.clip(p, 1e-12, 1.0)).mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray, mirrored: np.ndarray | None = None) -> float:
    """The temperature minimising the negative log-likelihood of the (mirror-averaged) probabilities:
    a log-spaced grid, then a golden-section refinement around its best point."""
    return _fit_temperature_of(lambda t: calibrated_probabilities(logits, mirrored, t), labels)


def _fit_temperature_of(probabilities_at: Callable[[float], np.ndarray], labels: np.ndarray) -> float:
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) == 0:
        return 1.0

    def nll(log_t: float) -> float:
        return negative_log_likelihood(probabilities_at(math.exp(log_t)), labels)

    lo, hi = (math.log(t) for t in TEMPERATURE_RANGE)
    grid = np.linspace(lo, hi, 61)
    best = int(np.argmin([nll(x) for x in grid]))
    a, b = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    g = (math.sqrt(5) - 1) / 2
    c, d = b - g * (b - a), a + g * (b - a)
    for _ in range(40):
        if nll(c) < nll(d):
            b = d
        else:
            a = c
        c, d = b - g * (b - a), a + g * (b - a)
    return float(math.exp((a + b) / 2))


def choose_uncertain_threshold(probs: np.ndarray, labels: np.ndarray, max_accuracy: float = 0.5,
                               min_count: int = 20) -> float:
    """The top probability at which a prediction is as likely wrong as right (``max_accuracy``):
    a logistic fit of P(right | top probability) on held-out predictions, solved for ``max_accuracy``.
    0 when the fit says even the least confident are mostly right, or with fewer than ``min_count``."""
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) < min_count:
        return 0.0
    conf = probs.max(axis=1)
    right = (probs.argmax(axis=1) == labels).astype(np.float64)
    x = np.column_stack([np.ones_like(conf), conf])
    w = np.zeros(2)
    for _ in range(50):  # Newton's method on the logistic log-likelihood, a small ridge for stability
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        grad = x.T @ (right - p) - 1e-3 * w
        hess = (x * (p * (1 - p))[:, None]).T @ x + 1e-3 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        w += step
        if np.abs(step).max() < 1e-9:
            break
    a, b = w
    if b <= 0:
        return 0.0
    tau = (np.log(max_accuracy / (1 - max_accuracy)) - a) / b
    return float(np.clip(tau, 0.0, 1.0)) if tau > conf.min() else 0.0


def ensemble_uncertain_threshold(calibrations: list[dict], labels: np.ndarray | None = None,
                                 max_accuracy: float = 0.5) -> float:
    """The "uncertain" threshold of an ensemble whose members each hold one held-out prediction per
    training clip (``fit_calibration``'s inner logits, indexed by clip): each member's calibrated
    probabilities at its own temperature, averaged over members per clip, then
    ``choose_uncertain_threshold``. ``labels`` is indexed by the clip indices the calibrations use
    (None: the members' own ``inner_labels``). Raises ValueError when a member carries no inner
    predictions or the members share no clip."""
    per_member = []
    for cal in calibrations:
        if not cal or cal.get("inner_logits") is None or cal.get("inner_indices") is None:
            raise ValueError("a member's calibration carries no held-out inner predictions "
                             "(train it with calibration_folds > 1 and the current code)")
        mirrored = cal.get("inner_logits_mirrored")
        probs = calibrated_probabilities(np.asarray(cal["inner_logits"]),
                                         None if mirrored is None else np.asarray(mirrored),
                                         float(cal["temperature"]))
        per_member.append(dict(zip((int(i) for i in cal["inner_indices"]), probs)))
    shared = sorted(set.intersection(*(set(m) for m in per_member)))
    if not shared:
        raise ValueError("the members' inner predictions share no clip")
    averaged = np.mean([[m[i] for i in shared] for m in per_member], axis=0)
    if labels is None:
        known: dict[int, int] = {}
        for cal in calibrations:
            known.update(zip((int(i) for i in cal["inner_indices"]), (int(y) for y in cal.get("inner_labels") or ())))
        if any(i not in known for i in shared):
            raise ValueError("the members' calibrations carry no inner labels: pass the clips' labels")
        y = np.array([known[i] for i in shared])
    else:
        y = np.asarray(labels)[shared]
    return choose_uncertain_threshold(averaged, y, max_accuracy)


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 10) -> tuple[float, list[dict]]:
    """ECE and the reliability table (per bin: range, count, mean confidence, accuracy)."""
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    conf = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == labels).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    table = []
    ece = 0.0
    n = max(len(labels), 1)
    for i in range(bins):
        sel = (conf > edges[i]) & (conf <= edges[i + 1]) if i else (conf >= edges[0]) & (conf <= edges[1])
        count = int(sel.sum())
        row = {"low": round(float(edges[i]), 4), "high": round(float(edges[i + 1]), 4), "count": count,
               "confidence": float(conf[sel].mean()) if count else None,
               "accuracy": float(correct[sel].mean()) if count else None}
        table.append(row)
        if count:
            ece += count / n * abs(row["accuracy"] - row["confidence"])
    return float(ece), table


def ece_if_calibrated(probs: np.ndarray, bins: int = 10, draws: int = 1000, seed: int = 0) -> dict[str, float]:
    """The ECE a perfectly calibrated model with these confidences would still show on this many clips:
    labels drawn from the probabilities themselves, ``draws`` times. ECE is biased upward on a few
    hundred clips; a measured ECE under this 95th percentile cannot be told from perfect calibration."""
    probs = np.asarray(probs, dtype=np.float64)
    if len(probs) == 0:
        return {"mean": float("nan"), "p95": float("nan")}
    rng = np.random.default_rng(seed)
    cumulative = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    values = []
    for _ in range(draws):
        drawn = (rng.random(len(probs))[:, None] > cumulative).sum(axis=1).clip(max=probs.shape[1] - 1)
        values.append(expected_calibration_error(probs, drawn, bins)[0])
    return {"mean": float(np.mean(values)), "p95": float(np.quantile(values, 0.95))}


def selective_summary(probs: np.ndarray, labels: np.ndarray, threshold: float | np.ndarray) -> dict:
    """How the uncertain outcome splits the predictions: coverage and accuracy of each side."""
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    sure = conf >= np.asarray(threshold, dtype=np.float64)
    return {"coverage": float(sure.mean()) if len(conf) else float("nan"),
            "accuracy_confident": float(correct[sure].mean()) if sure.any() else float("nan"),
            "accuracy_uncertain": float(correct[~sure].mean()) if (~sure).any() else float("nan"),
            "accuracy_all": float(correct.mean()) if len(conf) else float("nan")}


class _RunLogits:
    """One run's held-out logits stacked over its folds: (members, clips, classes), in subject order."""

    def __init__(self, records: dict[str, dict], subjects: list[str]) -> None:
        def stacked(key: str) -> np.ndarray | None:
            parts = []
            for s in subjects:
                value = records[s].get(key)
                if value is None or any(v is None for v in value):  # mirrored: none without the recipe's TTA
                    return None
                a = np.asarray(value, dtype=np.float64)
                parts.append(a[None] if a.ndim == 2 else a)
            if len({p.shape[0] for p in parts}) != 1:
                raise ValueError("the run's folds hold different numbers of members")
            return np.concatenate(parts, axis=1)

        self.logits = stacked("logits")
        if self.logits is None:
            raise ValueError("a fold record carries no logits (run the LOSO with the current code)")
        self.mirrored = stacked("logits_mirrored")

    def probabilities(self, mask: np.ndarray, temperature: float) -> np.ndarray:
        return np.mean([calibrated_probabilities(lg[mask], None if self.mirrored is None else self.mirrored[k][mask],
                                                 temperature) for k, lg in enumerate(self.logits)], axis=0)


def cross_fitted_calibration(runs: Sequence[Sequence[dict]], max_accuracy: float = 0.5, unit: str = "subject"
                             ) -> dict:
    """Calibration of a LOSO run that was trained without inner calibration folds, estimated without its
    test subjects: for each held-out subject, every run's temperature is fitted on the other subjects'
    held-out logits (their own folds' models), the "uncertain" threshold on those subjects' probabilities
    so calibrated (averaged over the runs), and both are applied to the subject's own logits.

    ``runs``: one or more runs' fold records (``logits``, ``logits_mirrored``, ``y_true``, ``subject``)
    over the same subjects and clips; several runs are calibrated as an ensemble, each member at its own
    temperature, as the shipped file does. No label of a subject touches its own calibration; what it
    does not reproduce is the in-fold protocol's inner models (trained on two thirds of the training
    subjects), so it is an estimate of that protocol, checked against it where both exist.
    ``probabilities``: the calibrated probabilities per clip, subjects in sorted order, each subject's
    clips in its records' order. ``unit`` names what a fold held out (a whole dataset under
    leave-one-dataset-out) in the method's description.
    """
    if not runs or not runs[0]:
        raise ValueError("no fold records to calibrate")
    by_subject = [{str(r["subject"]): r for r in records} for records in runs]
    subjects = sorted(by_subject[0])
    if len(subjects) < 2 or any(sorted(m) != subjects for m in by_subject[1:]):
        raise ValueError("the runs do not hold the same held-out subjects (at least two)")
    first = by_subject[0]
    for m in by_subject[1:]:
        if any(list(m[s]["y_true"]) != list(first[s]["y_true"]) for s in subjects):
            raise ValueError("the runs do not hold the same clips in the same order")
    y = np.concatenate([np.asarray(first[s]["y_true"], dtype=np.int64) for s in subjects])
    owner = np.concatenate([np.full(len(first[s]["y_true"]), i) for i, s in enumerate(subjects)])
    members = [_RunLogits(m, subjects) for m in by_subject]

    cal = np.zeros((len(y), members[0].logits.shape[-1]))
    thresholds = np.zeros(len(y))
    temperatures = []
    for i in range(len(subjects)):
        own, rest = owner == i, owner != i
        temps = [_fit_temperature_of(lambda t, m=m: m.probabilities(rest, t), y[rest]) for m in members]
        rest_probs = np.mean([m.probabilities(rest, t) for m, t in zip(members, temps)], axis=0)
        thresholds[own] = choose_uncertain_threshold(rest_probs, y[rest], max_accuracy)
        cal[own] = np.mean([m.probabilities(own, t) for m, t in zip(members, temps)], axis=0)
        temperatures.append(temps)
    everything = np.ones(len(y), bool)
    raw = np.mean([m.probabilities(everything, 1.0) for m in members], axis=0)
    temps_arr = np.asarray(temperatures)
    ece_cal, table = expected_calibration_error(cal, y)
    return {"method": f"cross-fitted over held-out {unit}s (no inner folds)", "members": len(runs),
            "ece_uncalibrated": expected_calibration_error(raw, y)[0], "ece_calibrated": ece_cal,
            "ece_if_calibrated": ece_if_calibrated(cal), "reliability": table,
            "temperature": [{"median": float(np.median(col)), "min": float(col.min()), "max": float(col.max())}
                            for col in temps_arr.T],
            "uncertain_below": {"median": float(np.median(thresholds)), "min": float(thresholds.min()),
                                "max": float(thresholds.max())},
            "uncertain": selective_summary(cal, y, thresholds),
            "probabilities": np.round(cal, 5).tolist()}


def inner_subject_folds(subjects: list[str] | np.ndarray, indices: np.ndarray, k: int, seed: int
                        ) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` subject-grouped (train, held-out) splits of ``indices``: every subject held out once."""
    subjects = np.asarray(subjects)
    indices = np.asarray(indices, dtype=np.int64)
    order = list(dict.fromkeys(subjects[indices].tolist()))
    rng = np.random.default_rng(seed)
    rng.shuffle(order)
    groups = [set(order[i::k]) for i in range(k)]
    folds = []
    for group in groups:
        held = np.array([s in group for s in subjects[indices]])
        if held.any() and (~held).any():
            folds.append((indices[~held], indices[held]))
    return folds


def reliability_diagram(table: list[dict], path: str | Path, title: str = "", size: int = 360) -> Path:
    """A reliability diagram (accuracy against confidence per bin, the diagonal, bar widths by count) as PNG."""
    margin = 48
    img = np.full((size + 2 * margin, size + 2 * margin, 3), 255, np.uint8)
    x0, y0 = margin, margin + size

    def pt(cx: float, cy: float) -> tuple[int, int]:
        return int(round(x0 + cx * size)), int(round(y0 - cy * size))

    cv2.rectangle(img, pt(0, 1), pt(1, 0), (180, 180, 180), 1)
    total = max(sum(r["count"] for r in table), 1)
    for r in table:
        if not r["count"]:
            continue
        shade = int(235 - 150 * min(1.0, 4 * r["count"] / total))
        cv2.rectangle(img, pt(r["low"], r["accuracy"]), pt(r["high"], 0), (shade, shade - 20, 60), -1)
        cv2.rectangle(img, pt(r["low"], r["accuracy"]), pt(r["high"], 0), (90, 60, 20), 1)
        cv2.circle(img, pt(r["confidence"], r["accuracy"]), 3, (30, 30, 200), -1)
    cv2.line(img, pt(0, 0), pt(1, 1), (60, 60, 60), 1, cv2.LINE_AA)
    font = cv2.FONT_HERSHEY_SIMPLEX
    for v in (0.0, 0.5, 1.0):
        cv2.putText(img, f"{v:.1f}", (pt(v, 0)[0] - 10, y0 + 18), font, 0.4, (40, 40, 40), 1, cv2.LINE_AA)
        cv2.putText(img, f"{v:.1f}", (8, pt(0, v)[1] + 4), font, 0.4, (40, 40, 40), 1, cv2.LINE_AA)
    cv2.putText(img, "top probability", (x0 + size // 2 - 50, y0 + 36), font, 0.45, (40, 40, 40), 1, cv2.LINE_AA)
    cv2.putText(img, "accuracy", (4, margin - 10), font, 0.45, (40, 40, 40), 1, cv2.LINE_AA)
    if title:
        cv2.putText(img, title[:60], (x0, 20), font, 0.45, (20, 20, 20), 1, cv2.LINE_AA)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), img)
    return path
