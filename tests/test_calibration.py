"""Temperature scaling, the uncertain threshold, ECE, and inner folds that never mix subjects."""

import numpy as np
import pytest

from frl_core.training.calibration import (
    calibrated_probabilities, choose_uncertain_threshold, expected_calibration_error, fit_temperature,
    inner_subject_folds, selective_summary, softmax)


def sampled(temperature: float, n: int = 4000, seed: int = 0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2.0, (n, 3))
    probs = softmax(logits, temperature)
    labels = np.array([rng.choice(3, p=p) for p in probs])
    return logits, labels


def test_the_temperature_that_generated_the_labels_is_recovered():
    logits, labels = sampled(2.0)
    assert fit_temperature(logits, labels) == pytest.approx(2.0, rel=0.1)


def test_calibration_lowers_the_error_of_over_confident_outputs():
    logits, labels = sampled(2.5, seed=1)
    before, _ = expected_calibration_error(softmax(logits), labels)
    t = fit_temperature(logits, labels)
    after, table = expected_calibration_error(calibrated_probabilities(logits, None, t), labels)
    assert after < 0.03 < before
    assert sum(row["count"] for row in table) == len(labels)


def test_the_threshold_is_where_predictions_turn_as_likely_wrong_as_right():
    logits, labels = sampled(1.0, seed=2)
    probs = softmax(logits)
    tau = choose_uncertain_threshold(probs, labels, max_accuracy=0.5)
    conf = probs.max(1)
    right = probs.argmax(1) == labels
    assert 0.34 < tau < 0.8
    near = np.abs(conf - tau) < 0.05
    assert abs(right[near].mean() - 0.5) < 0.1  # calibrated outputs: right half the time there
    assert right[conf < tau].mean() < 0.5 < right[conf >= tau].mean()
    summary = selective_summary(probs, labels, tau)
    assert summary["accuracy_confident"] > summary["accuracy_uncertain"]


def test_no_threshold_when_even_the_least_confident_are_mostly_right():
    rng = np.random.default_rng(4)
    probs = np.column_stack([rng.uniform(0.6, 0.99, 200), np.zeros(200), np.zeros(200)])
    probs[:, 1] = probs[:, 2] = (1 - probs[:, 0]) / 2
    labels = np.where(rng.random(200) < 0.95, 0, 1)
    assert choose_uncertain_threshold(probs, labels) == 0.0


def test_inner_folds_hold_out_whole_subjects():
    subjects = np.repeat([f"s{i}" for i in range(10)], 4)
    indices = np.arange(40)[subjects != "s3"]
    folds = inner_subject_folds(subjects, indices, 3, seed=1)
    assert len(folds) == 3
    held_all = np.concatenate([held for _, held in folds])
    assert sorted(held_all.tolist()) == sorted(indices.tolist())
    for train, held in folds:
        assert not set(subjects[train]) & set(subjects[held])
        assert "s3" not in set(subjects[train]) | set(subjects[held])
