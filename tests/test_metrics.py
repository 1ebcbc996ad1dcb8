"""UF1/UAR as the MEGC2019 protocol defines them: pooled predictions, per-class F1/recall, plain class mean."""

import numpy as np
import pytest

from frl_core.metrics import confusion_matrix, paired_subject_bootstrap, score, subject_bootstrap, uar, uf1


def test_hand_computed_example():
    # negative: TP 2, FP 1, FN 1 -> F1 4/6, recall 2/3; positive: TP 1, FP 1, FN 0 -> F1 2/3, recall 1;
    # surprise: TP 1, FP 0, FN 1 -> F1 2/3, recall 1/2.
    y_true = [0, 0, 0, 1, 2, 2]
    y_pred = [0, 0, 1, 1, 2, 0]
    s = score(y_true, y_pred)
    assert s.confusion.tolist() == [[2, 1, 0], [0, 1, 0], [1, 0, 1]]
    assert s.uf1 == pytest.approx((4 / 6 + 2 / 3 + 2 / 3) / 3)
    assert s.uar == pytest.approx((2 / 3 + 1 + 0.5) / 3)
    assert s.accuracy == pytest.approx(4 / 6)


def test_pooled_is_not_the_mean_of_folds():
    # Two folds; the pooled figure differs from the average of per-fold figures, and the protocol wants pooled.
    fold_a = ([0, 0, 1], [0, 0, 0])
    fold_b = ([2, 2, 1], [2, 1, 1])
    pooled = score(fold_a[0] + fold_b[0], fold_a[1] + fold_b[1])
    mean_of_folds = np.mean([score(*fold_a).uf1, score(*fold_b).uf1])
    assert pooled.uf1 != pytest.approx(mean_of_folds)
    cm = confusion_matrix(fold_a[0], fold_a[1], 3) + confusion_matrix(fold_b[0], fold_b[1], 3)
    assert pooled.uf1 == pytest.approx(uf1(cm))


def test_classes_absent_from_a_fold_are_left_out_of_its_mean():
    s = score([0, 0], [0, 0])
    assert s.uf1 == 1.0 and s.uar == 1.0
    # A class predicted but absent from the truth has F1 0 (it counts) but no recall (it does not).
    s = score([0, 0], [0, 1])
    assert s.uf1 == pytest.approx((2 / 3 + 0) / 2)
    assert s.uar == pytest.approx(0.5)


def test_bad_labels_are_rejected():
    with pytest.raises(ValueError):
        confusion_matrix([0, 3], [0, 1], 3)
    with pytest.raises(ValueError):
        confusion_matrix([0, 1], [0], 3)
    assert uar(np.zeros((3, 3), dtype=int)) == 0.0


def test_paired_subject_bootstrap_resolves_a_real_gap_and_not_a_borderline_one():
    """Two predictors on 40 subjects of 6 clips: one right on every clip, one wrong on a few subjects' clips.
    The gap's interval surrounds the point figure; it excludes 0 when the second is wrong on many subjects and
    includes it when the two differ on one subject only (a target the data cannot resolve)."""
    rng = np.random.default_rng(3)
    subjects = np.repeat([f"s{k:02d}" for k in range(40)], 6)
    y = rng.integers(0, 3, len(subjects))
    many = y.copy()
    wrong = np.isin(subjects, [f"s{k:02d}" for k in range(0, 40, 3)]) & (np.arange(len(y)) % 2 == 0)
    many[wrong] = (y[wrong] + 1) % 3
    boot = paired_subject_bootstrap(y, y, many, subjects, resamples=500)
    assert boot.agreement == pytest.approx(np.mean(y == many))
    assert boot.gap_interval[0] <= boot.gap <= boot.gap_interval[1]
    assert boot.gap_interval[0] > 0
    assert boot.agreement_interval[0] <= boot.agreement <= boot.agreement_interval[1] < 1.0
    one = y.copy()
    one[subjects == "s05"] = (y[subjects == "s05"] + 1) % 3
    narrow = paired_subject_bootstrap(y, y, one, subjects, resamples=500)
    assert narrow.gap > 0 and narrow.gap_interval[0] == 0.0
    same = paired_subject_bootstrap(y, y, y, subjects, resamples=50)
    assert same.gap == 0.0 and same.gap_interval == (0.0, 0.0) and same.agreement_interval == (1.0, 1.0)


def test_paired_subject_bootstrap_refuses_mismatched_inputs():
    with pytest.raises(ValueError):
        paired_subject_bootstrap([0, 1], [0, 1], [0], ["a", "b"])


def test_subject_bootstrap_brackets_the_pooled_figure_and_narrows_with_more_subjects():
    """A 70 %-right predictor: the interval holds the pooled UF1 and is narrower for 80 subjects than for 10
    (what a composite of 68 subjects can and cannot tell apart)."""
    rng = np.random.default_rng(5)

    def case(n_subjects):
        subjects = np.repeat([f"s{k}" for k in range(n_subjects)], 6)
        y = rng.integers(0, 3, len(subjects))
        pred = np.where(rng.random(len(y)) < 0.7, y, (y + 1) % 3)
        return y, pred, subjects

    widths = []
    for n in (10, 80):
        y, pred, subjects = case(n)
        boot = subject_bootstrap(y, pred, subjects, resamples=400)
        assert boot.uf1_interval[0] <= score(y, pred).uf1 <= boot.uf1_interval[1]
        assert boot.uar_interval[0] <= score(y, pred).uar <= boot.uar_interval[1]
        widths.append(boot.uf1_interval[1] - boot.uf1_interval[0])
    assert widths[1] < 0.6 * widths[0]
    y, _, subjects = case(10)
    assert subject_bootstrap(y, y, subjects, resamples=20).uf1_interval == (1.0, 1.0)
