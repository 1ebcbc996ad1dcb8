"""LOSO training: fold integrity, a quick CI subset run, determinism, resume, config and CLI behaviour."""

import argparse
import json

import numpy as np
import pytest
import torch

from frl_core.data.megc2019 import Megc2019
from frl_core.training import cli_evaluate, cli_train, loop
from frl_core.training.config import ConfigError, load_config, parse_override
from frl_core.training.folds import Fold, TrainingError, check_disjoint, make_folds
from frl_core.training.loso import run_loso
from frl_core.training.samples import load_samples

QUICK_SUBJECTS = ["sub01", "s01", "006"]  # one small fold from each source dataset


def _config(data_root, out_dir, **train):
    config = load_config(None)
    config["protocol"]["data_root"] = str(data_root)
    config["protocol"]["subjects"] = list(QUICK_SUBJECTS[:2])
    config["model"] = {"name": "ststnet", "input_mode": "flow"}
    config["train"].update({"epochs": 2, "batch_size": 64, "threads": 1, **train})
    config["output"]["dir"] = str(out_dir)
    return config


@pytest.fixture(scope="module")
def samples(data_root):
    return load_samples({"name": "megc2019-loso", "data_root": str(data_root)}, "flow", 28)


def test_no_subject_is_in_both_train_and_test_of_any_fold(data_root):
    subjects = Megc2019(data_root).subjects
    folds = make_folds(subjects)
    assert len(folds) == 68
    arr = np.asarray(subjects)
    for fold in folds:
        assert set(arr[fold.test_indices]) == {fold.test_subject}
        assert fold.test_subject not in set(arr[fold.train_indices])
        assert len(fold.train_indices) + len(fold.test_indices) == len(subjects)
    assert sorted(np.concatenate([f.test_indices for f in folds]).tolist()) == list(range(len(subjects)))
    check_disjoint(folds, subjects)
    leaky = Fold(0, "sub01", np.arange(len(subjects)), folds[0].test_indices)
    with pytest.raises(TrainingError, match="both train and test"):
        check_disjoint([leaky], subjects)


def test_quick_subset_run_is_deterministic_and_reports(data_root, samples, tmp_path):
    reports = []
    for name in ("a", "b"):
        config = _config(data_root, tmp_path / name)
        reports.append(run_loso(config, tmp_path / name, torch.device("cpu"), seed=3, show_progress=False, samples=samples))
    a, b = reports
    assert a["folds_done"] == 2 and a["pooled"]["n"] == len(samples.keys) - sum(
        1 for s in samples.subjects if s not in QUICK_SUBJECTS[:2])
    assert set(a["per_dataset"]) == {"casme2", "smic"}
    assert np.asarray(a["pooled"]["confusion"]).sum() == a["pooled"]["n"]
    fold = json.loads((tmp_path / "a" / "folds" / "sub01.json").read_text())
    assert "sub01" not in fold["train_subjects"] and len(fold["train_subjects"]) == 67
    other = json.loads((tmp_path / "b" / "folds" / "sub01.json").read_text())
    assert fold["probabilities"] == other["probabilities"]  # same seed, same numbers on CPU
    assert (tmp_path / "a" / "config.resolved.toml").is_file() and (tmp_path / "a" / "report.json").is_file()


def test_resume_after_an_interrupt_reuses_finished_folds(data_root, samples, tmp_path, monkeypatch):
    config = _config(data_root, tmp_path, epochs=1)
    config["protocol"]["subjects"] = list(QUICK_SUBJECTS)
    real_train = loop.train_model
    calls = []

    def interrupted_after_one_fold(*args, **kwargs):
        if calls:
            raise KeyboardInterrupt
        calls.append(1)
        return real_train(*args, **kwargs)

    monkeypatch.setattr(loop, "train_model", interrupted_after_one_fold)
    with pytest.raises(KeyboardInterrupt):
        run_loso(config, tmp_path, torch.device("cpu"), seed=1, show_progress=False, samples=samples)
    done = sorted(p.stem for p in (tmp_path / "folds").glob("*.json"))
    assert done == ["sub01"]
    first = (tmp_path / "folds" / "sub01.json").read_text()

    trained = []
    monkeypatch.setattr(loop, "train_model", lambda *a, **k: trained.append(1) or real_train(*a, **k))
    report = run_loso(config, tmp_path, torch.device("cpu"), seed=1, show_progress=False, samples=samples)
    assert len(trained) == 2 and report["folds_done"] == 3
    assert (tmp_path / "folds" / "sub01.json").read_text() == first

    config["train"]["lr"] = 0.5
    with pytest.raises(TrainingError, match="different configuration"):
        run_loso(config, tmp_path, torch.device("cpu"), seed=1, show_progress=False, samples=samples)


def _parse(module, argv):
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    return parser.parse_args(argv)


def test_cli_train_config_overrides_and_evaluate_run(data_root, tmp_path, capsys):
    cfg = tmp_path / "quick.toml"
    cfg.write_text(
        '[protocol]\nname = "megc2019-loso"\n'
        f'data_root = "{data_root}"\n'
        '[model]\nname = "ststnet"\ninput_mode = "flow"\n'
        '[train]\nepochs = 5\nbatch_size = 64\nthreads = 1\n'
    )
    out = tmp_path / "run"
    args = _parse(cli_train, ["--config", str(cfg), "--set", "train.epochs=1", "--subjects", "sub01,sub02",
                              "--out", str(out), "--no-progress", "--seeds", "1,2"])
    assert cli_train.run(args) == 0
    resolved = load_config(out / "config.resolved.toml")
    assert resolved["train"]["epochs"] == 1 and resolved["train"]["seeds"] == [1, 2]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seeds"] == [1, 2] and "mean" in summary["uf1"]
    printed = capsys.readouterr().out
    assert "pooled      UF1" in printed and "over seeds [1, 2]" in printed

    png = tmp_path / "reliability.png"
    assert cli_evaluate.run(_parse(cli_evaluate, ["--run", str(out), "--reliability", str(png)])) == 0
    printed = capsys.readouterr().out
    assert "pooled      UF1" in printed
    # trained without calibration folds: each seed, and the two as the ensemble a file would ship, get a
    # calibration estimated without their test subjects
    assert "calibration, seed 1 (cross-fitted" in printed and "seeds 1+2 as one ensemble" in printed
    assert png.stat().st_size > 0
    # each seed's pooled figures come with their spread over the two subjects resampled
    assert printed.count("resamples by subject): UF1 ") == 2


def test_evaluate_of_a_leave_one_dataset_out_run_says_datasets_were_held_out(data_root, tmp_path, capsys):
    cfg = tmp_path / "lodo.toml"
    cfg.write_text(
        '[protocol]\nname = "megc2019-loso"\nhold_out = "dataset"\n'
        f'data_root = "{data_root}"\n'
        '[model]\nname = "ststnet"\ninput_mode = "flow"\n'
        '[train]\nepochs = 1\nbatch_size = 64\nthreads = 1\ncalibration_folds = 0\n'
    )
    out = tmp_path / "lodo"
    assert cli_train.run(_parse(cli_train, ["--config", str(cfg), "--out", str(out), "--no-progress",
                                            "--seeds", "1,2"])) == 0
    capsys.readouterr()
    assert cli_evaluate.run(_parse(cli_evaluate, ["--run", str(out)])) == 0
    printed = capsys.readouterr().out
    assert "one dataset held out a fold" in printed and "folds 3" in printed
    assert "cross-fitted over held-out datasets" in printed and "held-out subjects" not in printed
    assert "resamples by subject" not in printed  # three folds are too few to resample
    assert "perfectly calibrated" in printed


def test_bad_input_gives_one_line_errors(tmp_path, capsys):
    assert cli_train.run(_parse(cli_train, ["--config", str(tmp_path / "none.toml")])) == 2
    assert "config file not found" in capsys.readouterr().err
    assert cli_train.run(_parse(cli_train, ["--protocol", "nope", "--out", str(tmp_path)])) == 2
    assert "protocol.name must be one of" in capsys.readouterr().err
    assert cli_evaluate.run(_parse(cli_evaluate, [str(tmp_path / "missing.pt")])) == 2
    assert "not found" in capsys.readouterr().err
    with pytest.raises(ConfigError):
        parse_override("epochs")
    assert parse_override("train.lr=0.01") == (["train", "lr"], 0.01)
    assert parse_override("model.name=frl_dgt_base") == (["model", "name"], "frl_dgt_base")


@pytest.mark.slow
def test_frl_dgt_quick_fold_in_flow_and_pair_mode_is_deterministic(data_root, samples, tmp_path):
    probabilities = {}
    for mode, run in (("flow", "a"), ("flow", "b"), ("pair", "a")):
        config = _config(data_root, tmp_path / mode / run, epochs=1, batch_size=32)
        config["protocol"]["subjects"] = ["sub01"]
        config["model"] = {"name": "frl_dgt_small", "input_mode": mode, "img_size": 64, "motion_size": 28}
        data = samples if mode == "flow" else load_samples(config["protocol"], "pair", 64)
        report = run_loso(config, tmp_path / mode / run, torch.device("cpu"), seed=1, show_progress=False,
                          samples=data)
        assert report["folds_done"] == 1 and report["semi_synthetic"] == (mode == "pair")
        fold = json.loads((tmp_path / mode / run / "folds" / "sub01.json").read_text())
        probabilities[(mode, run)] = fold["probabilities"]
    assert probabilities[("flow", "a")] == probabilities[("flow", "b")]


def test_evaluate_prints_what_a_checkpoint_is(tmp_path, capsys):
    from frl_core.models import create_model
    from frl_core.models.checkpoint import save_checkpoint

    path = tmp_path / "model.pt"
    save_checkpoint(create_model("frl_dgt_small", input_mode="pair", img_size=64), path,
                    metadata={"trained_on": "unit test", "semi_synthetic": True})
    assert cli_evaluate.run(_parse(cli_evaluate, [str(path)])) == 0
    out = capsys.readouterr().out
    assert "trained_on: unit test" in out and "semi-synthetic" in out and "FRLDGT" in out
    path.write_bytes(b"not a checkpoint")
    assert cli_evaluate.run(_parse(cli_evaluate, [str(path)])) == 2
    assert capsys.readouterr().err.startswith("error:")


def test_every_shipped_config_loads_and_names_a_known_protocol():
    from pathlib import Path

    from frl_core.training.samples import PROTOCOLS

    configs = sorted((Path(__file__).resolve().parent.parent / "configs").glob("*.toml"))
    assert configs
    for path in configs:
        config = load_config(path)
        assert config["protocol"]["name"] in PROTOCOLS, path.name
        assert int(config["train"]["epochs"]) > 0 and config["train"]["seeds"], path.name


def test_ensemble_trains_members_from_other_seeds_and_averages_them(data_root, samples, tmp_path):
    folds = {}
    for k in (1, 2):
        config = _config(data_root, tmp_path / f"k{k}", ensemble=k)
        config["protocol"]["subjects"] = ["sub01"]
        config["output"]["save_checkpoints"] = True
        run_loso(config, tmp_path / f"k{k}", torch.device("cpu"), seed=3, show_progress=False, samples=samples)
        folds[k] = json.loads((tmp_path / f"k{k}" / "folds" / "sub01.json").read_text())
    single, pair = np.asarray(folds[1]["probabilities"]), np.asarray(folds[2]["probabilities"])
    assert single.shape == pair.shape and np.allclose(pair.sum(1), 1.0, atol=1e-4)
    assert not np.allclose(single, pair, atol=1e-3)  # the second member is a different model
    assert sorted(p.name for p in (tmp_path / "k2" / "checkpoints").iterdir()) == ["sub01.pt", "sub01_member1.pt"]
    with pytest.raises(ConfigError, match="ensemble"):
        loop.ensemble_size({"train": {"ensemble": 0}})


def test_recipe_cv_folds_hold_each_subject_out_exactly_once():
    from frl_core.training.recipe_cv import grouped_folds

    subjects = [f"s{i % 13}" for i in range(60)]
    folds = grouped_folds(subjects, 5)
    arr = np.asarray(subjects)
    held = [set(arr[test]) for _, test in folds]
    assert sorted(s for h in held for s in h) == sorted(set(subjects))
    for train, test in folds:
        assert not set(arr[train]) & set(arr[test]) and len(train) + len(test) == len(subjects)


def test_recipe_cv_reports_each_source_dataset_and_trains_the_au_head(data_root):
    from frl_core.training.recipe_cv import cross_validate

    config = load_config("configs/megc2019_flow.toml")
    config["protocol"]["data_root"] = str(data_root)
    config["train"].update({"epochs": 1, "calibration_folds": 0, "tta_hflip": False})
    config["model"]["au_loss_weight"] = 1.0
    result = cross_validate(config, k=2, seeds=[1], threads=1)
    (seed,) = result["per_seed"]
    assert set(seed["datasets"]) == {"smic", "casme2", "samm"}
    assert result["uf1"] == seed["uf1"]
    assert all(0.0 <= d["uf1"] <= 1.0 and 0.0 <= d["uar"] <= 1.0 for d in seed["datasets"].values())


def test_extra_members_train_with_their_own_recipe():
    config = load_config("configs/megc2019_flow.toml")
    config["train"]["extra_members"] = ["ststnet"]
    (member,) = loop.extra_member_configs(config)
    assert member["model"] == {"name": "ststnet", "input_mode": "flow"}
    assert member["train"]["epochs"] == 100 and member["train"]["lr"] == 0.003
    assert member["train"]["tta_hflip"] == config["train"]["tta_hflip"]  # evaluation stays shared
    assert config["model"]["name"] == "frl_dgt_small"  # the main config is untouched
    assert loop.total_epochs(config) == config["train"]["epochs"] + 100
    config["train"]["extra_members"] = ["resnet"]
    with pytest.raises(ConfigError, match="unknown member"):
        loop.extra_member_configs(config)


def test_epoch_trace_figures_separate_the_honest_last_epoch_from_the_peeking_choices():
    from frl_core.training.epoch_trace import protocol_figures

    # Two folds, three epochs, three classes: fold A is right only at epoch 2, fold B only at epochs 1 and 3.
    y_true = [np.array([0, 1]), np.array([2, 2])]
    one_hot = np.eye(3)
    fold_a = np.stack([one_hot[[1, 0]], one_hot[[0, 1]], one_hot[[2, 2]]])
    fold_b = np.stack([one_hot[[2, 2]], one_hot[[0, 0]], one_hot[[2, 2]]])
    figures = protocol_figures(y_true, [fold_a, fold_b], 3)
    assert figures["last_epoch"]["epoch"] == 3
    assert figures["best_epoch_per_fold"]["epochs_chosen"] == [2, 1]  # the first of equally good epochs
    assert figures["best_epoch_per_fold"]["uf1"] == pytest.approx(1.0)
    assert figures["last_epoch"]["uf1"] < figures["best_common_epoch"]["uf1"] <= figures["best_epoch_per_fold"]["uf1"]


@pytest.mark.slow
def test_epoch_trace_does_not_change_what_the_fold_learns(data_root, samples):
    from frl_core.training.epoch_trace import trace_fold

    config = _config(data_root, None, epochs=2, batch_size=32)
    config["model"] = {"name": "frl_dgt_small", "input_mode": "flow", "motion_size": 28}
    fold = make_folds(samples.subjects, ["sub01"])[0]
    runs = []
    for traced in (True, False):
        loop.set_determinism(7, torch.device("cpu"))
        model = loop.build_model(config["model"], 3, samples.class_names)
        if traced:
            runs.append(trace_fold(model, samples, fold, config, torch.device("cpu"), 7)[-1])
        else:
            loop.train_model(model, samples, fold.train_indices, config, torch.device("cpu"), 7)
            runs.append(loop.predict(model, samples, fold.test_indices, config, torch.device("cpu")))
    assert np.array_equal(runs[0], runs[1])


def test_permuted_label_control_scrambles_only_the_training_labels():
    from frl_core.training.epoch_trace import permuted_training_labels
    from frl_core.training.samples import SampleSet

    rng = np.random.default_rng(0)
    n = 40
    original = SampleSet(
        class_names=("negative", "positive", "surprise"),
        labels=rng.integers(0, 3, n),
        subjects=[f"s{i % 8}" for i in range(n)],
        datasets=["casme2"] * n,
        keys=[f"clip{i}" for i in range(n)],
        flows=rng.integers(0, 256, (n, 28, 28, 3), dtype=np.uint8),
    )
    fold = make_folds(original.subjects, ["s3"])[0]
    before = original.labels.copy()
    control = permuted_training_labels(original, fold.train_indices, seed=5)
    train, test = fold.train_indices, fold.test_indices
    assert np.array_equal(np.bincount(control.labels[train], minlength=3), np.bincount(original.labels[train], minlength=3))
    assert (control.labels[train] != original.labels[train]).mean() > 0.3  # actually scrambled
    assert np.array_equal(control.labels[test], original.labels[test])
    assert control.flows is original.flows and np.array_equal(original.labels, before)  # the real set untouched
    again = permuted_training_labels(original, train, seed=5)
    assert np.array_equal(again.labels, control.labels)  # seeded: the control is reproducible


def test_per_fold_choice_lifts_random_guesses_far_above_chance():
    from frl_core.training.epoch_trace import chance_with_per_fold_choice

    rng = np.random.default_rng(1)
    small_folds = [rng.integers(0, 3, n) for n in rng.integers(1, 8, 60)]  # subjects of 1-7 clips
    once = chance_with_per_fold_choice(small_folds, epochs=1, num_classes=3)
    forty = chance_with_per_fold_choice(small_folds, epochs=40, num_classes=3)
    assert 0.25 < once["uf1"] < 0.42  # one guess per fold: chance
    assert forty["uf1"] > 0.7  # the choice alone, with no model at all
    singletons = [np.array([c]) for c in rng.integers(0, 3, 30)]
    assert chance_with_per_fold_choice(singletons, epochs=40, num_classes=3)["uf1"] == pytest.approx(1.0)


@pytest.mark.parametrize("override, words", [
    ("train.epocs=1", "unknown key train.epocs"),
    ('train.epochs="two"', "train.epochs must be an integer"),
    ("train.seeds=1", "train.seeds must be a list"),
    ("train.batch_size=0", "train.batch_size must be within"),
    ("train.epochs=-3", "train.epochs must be within"),
    ('model.name="resnet"', "model.name must be one of"),
    ("model.embed_dimm=4", "unknown key model.embed_dimm"),
    ("model.embed_dim=100000", "embed_dim must be within"),
    ("train.lr=[1", "train.lr must be a number"),
    ("model.ensemble_size=2", "use train.ensemble"),
])
def test_a_bad_config_is_refused_before_any_work(tmp_path, capsys, override, words):
    import main

    out = tmp_path / "run"
    code = main.main(["train", "--config", "configs/megc2019_flow.toml", "--set", override, "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0 and words in err, err
    assert not out.exists()


def test_every_shipped_config_passes_the_schema():
    from pathlib import Path

    from frl_core.training.config import validate

    for path in sorted(Path("configs").glob("*.toml")):
        validate(load_config(path))


def test_damaged_fold_files_and_bad_paths_are_one_line_errors(data_root, samples, tmp_path, capsys):
    config = _config(data_root, tmp_path / "run", epochs=1)
    (tmp_path / "run" / "folds").mkdir(parents=True)
    (tmp_path / "run" / "folds" / "sub01.json").write_text("{cut off")
    with pytest.raises(TrainingError, match="sub01.json is damaged"):
        run_loso(config, tmp_path / "run", torch.device("cpu"), seed=1, show_progress=False, samples=samples)

    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    assert cli_train.run(_parse(cli_train, ["--config", "configs/megc2019_flow.toml", "--out", str(a_file)])) == 2
    assert "is a file" in capsys.readouterr().err

    run_dir = tmp_path / "evaluated"
    (run_dir / "folds").mkdir(parents=True)
    (run_dir / "config.resolved.toml").write_text('[protocol]\nname = "megc2019-loso"\n')
    (run_dir / "folds" / "sub01.json").write_text("[]")
    assert cli_evaluate.run(_parse(cli_evaluate, ["--run", str(run_dir)])) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a fold record" in err
    assert cli_evaluate.run(_parse(cli_evaluate, ["--run", str(run_dir), "--seeds", "4"])) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no seed_4" in err


def test_fold_weights_with_code_in_them_are_refused_in_one_line(data_root, tmp_path, capsys):
    class Payload:
        def __reduce__(self):
            return (print, ("code ran",))

    weights = tmp_path / "weights"
    weights.mkdir()
    torch.save({"x": Payload()}, weights / "sub01.pth")
    argv = ["--fold-weights", str(weights), "--model", "ststnet", "--data-root", str(data_root),
            "--set", 'protocol.subjects=["sub01"]']
    assert cli_evaluate.run(_parse(cli_evaluate, argv)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "refused" in err and "Traceback" not in err


def _readme_recompute_script() -> str:
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = text.split("### Recomputing the recognition figures", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_readme_script_recomputes_a_runs_figures_from_its_predictions_file(data_root, samples, tmp_path):
    """An auditor needs nothing of this project: the README's numpy/pandas script, run on the run's
    predictions.csv, prints the report's pooled and per-dataset UF1 / UAR."""
    import subprocess
    import sys

    import pandas as pd

    config = _config(data_root, tmp_path / "run", epochs=1)
    report = run_loso(config, tmp_path / "run", torch.device("cpu"), seed=2, show_progress=False, samples=samples)
    predictions = pd.read_csv(tmp_path / "run" / "predictions.csv")
    assert len(predictions) == report["pooled"]["n"] and set(predictions["seed"]) == {2}
    assert {"subject", "dataset", "clip", "true", "pred", "prob_negative"} <= set(predictions.columns)
    script = tmp_path / "recompute.py"
    script.write_text(_readme_recompute_script())
    out = subprocess.run([sys.executable, str(script), str(tmp_path / "run" / "predictions.csv")], capture_output=True,
                         text=True, check=True).stdout
    pooled = report["pooled"]
    assert f"pooled UF1 {pooled['uf1']:.4f} UAR {pooled['uar']:.4f}" in out
    for name, figures in report["per_dataset"].items():
        assert f"{name:<7} UF1 {figures['uf1']:.4f} UAR {figures['uar']:.4f}" in out


def test_leave_one_dataset_out_holds_out_each_whole_dataset(samples):
    from frl_core.training.loso import held_out_groups

    config = {"protocol": {"hold_out": "dataset"}}
    folds = make_folds(held_out_groups(config, samples))
    assert [f.test_subject for f in folds] == list(dict.fromkeys(samples.datasets))
    datasets = np.asarray(samples.datasets)
    for fold in folds:
        assert set(datasets[fold.test_indices]) == {fold.test_subject}
        assert fold.test_subject not in set(datasets[fold.train_indices])
    check_disjoint(folds, samples.subjects)
    assert held_out_groups({"protocol": {}}, samples) == samples.subjects
