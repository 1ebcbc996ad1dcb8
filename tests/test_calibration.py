"""Temperature scaling, the uncertain threshold, ECE, and inner folds that never mix subjects."""

import numpy as np
import pytest

from frl_core.training.calibration import (
    calibrated_probabilities, choose_uncertain_threshold, ece_if_calibrated, expected_calibration_error,
    fit_temperature, inner_subject_folds, selective_summary, softmax)


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


def test_a_few_hundred_calibrated_clips_still_show_an_ece_and_the_floor_says_how_much():
    # 442 clips, as the composite: labels drawn from the probabilities themselves are calibrated by
    # construction, yet their ECE is not 0; the floor's 95th percentile holds it, an over-confident model's
    # ECE (the same confidences, labels drawn at twice the temperature) lies far above it.
    logits, _ = sampled(1.0, n=442, seed=5)
    probs = softmax(logits)
    floor = ece_if_calibrated(probs)
    assert 0.01 < floor["mean"] < floor["p95"] < 0.1
    rng = np.random.default_rng(6)
    calibrated = [expected_calibration_error(probs, [rng.choice(3, p=p) for p in probs])[0] for _ in range(40)]
    assert np.mean(np.array(calibrated) <= floor["p95"]) >= 0.85
    flatter = softmax(logits, 2.0)
    over_confident = [expected_calibration_error(probs, [rng.choice(3, p=p) for p in flatter])[0] for _ in range(10)]
    assert min(over_confident) > floor["p95"]


def test_the_report_line_carries_the_floor_next_to_the_measured_ece():
    from frl_core.training.report import calibration_summary, format_calibration

    logits, labels = sampled(1.0, n=300, seed=7)
    probs = softmax(logits)
    records = [{"y_true": labels[i::3].tolist(), "probabilities": probs[i::3].tolist(),
                "calibrated_probabilities": probs[i::3].tolist(),
                "calibration": {"temperature": 1.0, "uncertain_below": 0.5}} for i in range(3)]
    summary = calibration_summary(records)
    line = format_calibration({"seeds": [1], **summary})
    assert f"{summary['ece_calibrated']:.4f} (perfectly calibrated" in line
    assert f"95 % under {summary['ece_if_calibrated']['p95']:.4f}" in line


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


def _fold_records(scale: float, seed: int = 0, subjects: int = 12, per_subject: int = 30):
    """Fold records as a LOSO run without calibration folds stores them: over-confident logits (the
    labels were drawn at temperature 1, the stored logits are ``scale`` times sharper)."""
    rng = np.random.default_rng(seed)
    records = []
    for s in range(subjects):
        logits = rng.normal(0, 1.5, (per_subject, 3))
        labels = [int(rng.choice(3, p=p)) for p in softmax(logits)]
        records.append({"subject": f"s{s:02d}", "y_true": labels, "logits": [(scale * logits).tolist()],
                        "logits_mirrored": [(scale * logits).tolist()]})
    return records


def test_a_run_without_calibration_folds_is_calibrated_without_its_test_subjects():
    from frl_core.training.calibration import cross_fitted_calibration

    records = _fold_records(2.5)
    cal = cross_fitted_calibration([records])
    assert cal["ece_calibrated"] < 0.06 < cal["ece_uncalibrated"]
    assert cal["temperature"][0]["median"] == pytest.approx(2.5, rel=0.2)
    assert 0.34 < cal["uncertain_below"]["median"] < 0.8
    # a subject's own labels never reach its calibration: relabelling it changes every other subject's
    # probabilities a little and its own not at all
    relabelled = [dict(r) for r in records]
    relabelled[0] = {**records[0], "y_true": [(y + 1) % 3 for y in records[0]["y_true"]]}
    again = cross_fitted_calibration([relabelled])
    n = len(records[0]["y_true"])
    assert np.allclose(again["probabilities"][:n], cal["probabilities"][:n])
    assert not np.allclose(again["probabilities"][n:], cal["probabilities"][n:])


def test_an_ensemble_is_calibrated_member_by_member_and_mismatched_runs_are_refused():
    from frl_core.training.calibration import cross_fitted_calibration

    sharp, sharper = _fold_records(2.0), _fold_records(4.0)
    cal = cross_fitted_calibration([sharp, sharper])
    t1, t2 = (t["median"] for t in cal["temperature"])
    assert t2 == pytest.approx(2 * t1, rel=0.05)
    assert cal["members"] == 2 and cal["ece_calibrated"] < cal["ece_uncalibrated"]
    with pytest.raises(ValueError, match="same held-out subjects"):
        cross_fitted_calibration([sharp, sharper[1:]])
    with pytest.raises(ValueError, match="same clips"):
        cross_fitted_calibration([sharp, _fold_records(2.0, seed=1)])
    with pytest.raises(ValueError, match="no logits"):
        cross_fitted_calibration([[{k: v for k, v in r.items() if k != "logits"} for r in sharp]])
