"""Nested CV: each outer fold chooses its recipe from its own training subjects, and the nested prediction of
a clip is the chosen recipe's; bad candidate lists are refused with one line."""

import argparse
import json

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



def test_loso_outer_folds_choose_by_inner_cv_reuse_a_candidates_own_loso_run_and_resume(data_root, tmp_path,
                                                                                         capsys):
    from frl_core.training.config import save_resolved

    configs = {}
    for name, lr in (("slow", 1e-4), ("fast", 3e-3)):
        config = _candidate(data_root, lr)
        config["protocol"]["subjects"] = ["sub01", "s01", "006"]  # three outer LOSO folds, one per dataset
        configs[name] = save_resolved(config, tmp_path / name)
    labels = pd.read_csv(data_root / "megc2019" / "labels.csv", dtype={"subject": str, "clip": str})
    clips = labels["dataset"] + "/" + labels["subject"].astype(str) + "/" + labels["clip"].astype(str)
    own = tmp_path / "slow_loso" / "predictions_seed{seed}.csv"
    own.parent.mkdir()
    # the slow recipe's own LOSO run, as if it were always right: a fold that chooses it must show that
    pd.DataFrame({"clip": clips, "pred": labels["label"]}).to_csv(str(own).format(seed=1), index=False)
    out = tmp_path / "nested"
    args = argparse.Namespace(candidate=[f"slow={configs['slow']}", f"fast={configs['fast']}"], outer="loso",
                              inner=2, cv_seeds="1", threads=1, out=out, device="cpu", workers=1, ray=None,
                              outer_predictions=[f"slow={own}"])
    assert nested_cv.run(args) == 0
    first = capsys.readouterr().out
    assert "nested (LOSO outer" in first and "slow's own LOSO" in first
    table = pd.read_csv(out / "predictions_seed1.csv", dtype={"subject": str})
    record = json.loads((out / "nested_seed1.json").read_text())
    assert sorted(table["subject"].astype(str).unique()) == ["006", "s01", "sub01"]
    assert len(table) == sum(labels["subject"].astype(str).isin(["sub01", "s01", "006"]))
    for fold in record["folds"]:
        assert fold["chosen"] == max(fold["inner_uf1"], key=fold["inner_uf1"].get)
        rows = table[table["subject"].astype(str) == fold["subject"]]
        assert set(rows["chosen"]) == {fold["chosen"]}
        assert fold["outer"] == ("reused" if fold["chosen"] == "slow" else "trained")
        if fold["chosen"] == "slow":
            assert (rows["pred"] == rows["true"]).all()

    assert nested_cv.run(args) == 0  # every fold's record is on disk: nothing is trained again
    again = capsys.readouterr().out
    assert "inner UF1" not in again
    assert pd.read_csv(out / "predictions_seed1.csv", dtype={"subject": str}).equals(table)

    args.outer_predictions = [f"typo={own}"]
    assert nested_cv.run(args) == 2 and "not a candidate" in capsys.readouterr().out
    args.out = None
    assert nested_cv.run(args) == 2 and "needs --out" in capsys.readouterr().out
