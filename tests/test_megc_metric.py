"""The MEGC spotting metric against the real MEGC2020 MDMD baseline, and its building blocks."""

import pytest

from frl_core.spotting.megc_metric import (
    LENGTH_FILTERS,
    MetricInputError,
    apex_errors,
    count_hits,
    evaluate_mdmd_baseline,
    evaluate_videos,
    interval_iou,
    match_intervals,
    read_ground_truth_info,
)


@pytest.mark.parametrize(
    "dataset, micro, macro, overall",
    [("casme2", 0.0082, 0.1196, 0.0376), ("samm", 0.0364, 0.0629, 0.0445)],
)
def test_reproduces_the_mdmd_baseline_figures(data_root, dataset, micro, macro, overall):
    result = evaluate_mdmd_baseline(data_root / "spotting" / "mdmd_megc2020", dataset)
    assert round(result.micro.f1, 4) == micro
    assert round(result.macro.f1, 4) == macro
    assert round(result.overall.f1, 4) == overall


def test_ground_truth_counts_match_the_datasets(data_root):
    root = data_root / "spotting" / "mdmd_megc2020" / "ground_truth"
    cas = read_ground_truth_info(root / "casme2_long" / "all_Info.txt")
    samm = read_ground_truth_info(root / "samm_long" / "all_Info.txt")
    assert sum(map(len, cas["micro"].values())) == 57 and sum(map(len, cas["macro"].values())) == 300
    assert sum(map(len, samm["micro"].values())) == 159 and sum(map(len, samm["macro"].values())) == 343


def test_iou_counts_frames_inclusively():
    assert interval_iou((0, 9), (5, 14)) == pytest.approx(5 / 15)
    assert interval_iou((3, 3), (3, 3)) == 1.0
    assert interval_iou((0, 4), (5, 9)) == 0.0
    # 10 of 20 frames shared: exactly the 0.5 limit, which counts as a hit.
    assert count_hits([(0, 19)], [(10, 19)]) == 1
    assert count_hits([(0, 19)], [(11, 19)]) == 0


def test_length_filter_drops_predictions_before_matching():
    gt = {"v": [(100, 109)]}
    short = {"v": [(101, 106)]}  # 6 frames: below CAS(ME)^2's micro minimum of 7
    ok = {"v": [(100, 108)]}
    f = LENGTH_FILTERS["casme2"]["micro"]
    dropped = evaluate_videos(gt, short, f)
    kept = evaluate_videos(gt, ok, f)
    assert (dropped.predicted, dropped.true_positives) == (0, 0)
    assert (kept.predicted, kept.true_positives, kept.f1) == (1, 1, 1.0)


def test_scores_pool_over_videos():
    gt = {"a": [(0, 9)], "b": [(50, 59), (100, 109)]}
    pred = {"a": [(0, 9), (200, 209)], "b": [(52, 60)]}
    c = evaluate_videos(gt, pred)
    assert (c.true_positives, c.predicted, c.ground_truth) == (2, 3, 3)
    assert c.precision == pytest.approx(2 / 3) and c.recall == pytest.approx(2 / 3)


def test_apex_error_uses_one_to_one_matches():
    gt = [(10, 15, 20), (100, 104, 110)]
    pred = [(11, 17, 21), (300, 305, 310), (99, 104, 109)]
    assert sorted(apex_errors(gt, pred)) == [0, 2]
    assert match_intervals([(0, 9)], [(0, 9), (0, 9)]) == [(0, 0)]


def test_bad_ground_truth_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "all_Info.txt"
    bad.write_text("s15 0401 micro-expression 12\n")
    with pytest.raises(MetricInputError, match="line 1"):
        read_ground_truth_info(bad)
    with pytest.raises(MetricInputError, match="cannot read"):
        read_ground_truth_info(tmp_path / "missing.txt")
