"""Nested CV: each outer fold chooses its recipe from its own training subjects, and the nested prediction of
a clip is the chosen recipe's; bad candidate lists are refused with one line."""

import argparse

import numpy as np
import pandas as pd

from frl_core.training import nested_cv
from frl_core.training.config import load_config
from frl_core.training.recipe_cv import grouped_folds


def _candidate(data_root, lr: float) -> dict:
    config = load_config(None)
    config["protocol"]["data_root"] = str(data_root)
    config["model"] = {"name": "ststnet", "input_mode": "flow"}
    config["train"].update({"epochs": 1, "batch_size": 64, "threads": 1, "lr": lr, "calibration_folds": 0})
    return config


def test_each_outer_fold_chooses_by_its_own_inner_folds_and_predicts_with_that_recipe(data_root):
    candidates = {"slow": _candidate(data_root, 1e-4), "fast": _candidate(data_root, 3e-3)}
    result = nested_cv.nested_cross_validate(candidates, outer_k=2, inner_k=2, seeds=[1], log=lambda *_: None)
    run = result["per_seed"][0]
    table = pd.DataFrame(run["predictions"])
    assert len(table) == 442 and set(table["chosen"]) <= {"slow", "fast"}
    for fold, (_, test_idx) in zip(run["folds"], grouped_folds(table["subject"].tolist(), 2)):
        best = max(fold["inner_uf1"], key=fold["inner_uf1"].get)
        assert fold["chosen"] == best
        assert set(table["chosen"].iloc[test_idx]) == {best}
    chosen_pred = np.where(table["chosen"] == "slow", table["pred_slow"], table["pred_fast"])
    assert (table["pred"] == chosen_pred).all() and (table["seed"] == 1).all()
    s = nested_cv.summary(result)
    assert s["best_on_test_uf1"][0] >= max(s["slow_uf1"][0], s["fast_uf1"][0]) - 1e-12


def test_a_malformed_or_single_candidate_is_refused(tmp_path, capsys):
    args = argparse.Namespace(candidate=["no-equals-sign"], outer=5, inner=3, cv_seeds="1", threads=1, out=None)
    assert nested_cv.run(args) == 2
    assert "NAME=CONFIG" in capsys.readouterr().out
    config = tmp_path / "one.toml"
    config.write_text("[train]\nepochs = 1\n")
    args.candidate = [f"one={config}"]
    assert nested_cv.run(args) == 2
    assert "at least two" in capsys.readouterr().out
