"""``train --workers N``: LOSO folds trained in parallel worker processes give the sequential run's numbers."""

import argparse
import json
import sys

import pytest

from frl_core.training import cli_train

SUBJECTS = ["sub01", "s01", "006"]  # one small fold from each source dataset


def _args(data_root, out, *extra):
    parser = argparse.ArgumentParser()
    cli_train.add_arguments(parser)
    return parser.parse_args(["--protocol", "megc2019-loso", "--data-root", str(data_root), "--model", "ststnet",
                              "--input-mode", "flow", "--epochs", "1", "--batch-size", "64", "--threads", "1",
                              "--subjects", ",".join(SUBJECTS), "--seeds", "1", "--out", str(out), "--no-progress",
                              *extra])


def _fold(out, subject):
    return json.loads((out / "seed_1" / "folds" / f"{subject}.json").read_text())


def test_folds_on_two_workers_are_bit_identical_to_the_sequential_run(data_root, tmp_path, capsys):
    assert cli_train.run(_args(data_root, tmp_path / "seq")) == 0
    assert cli_train.run(_args(data_root, tmp_path / "par", "--workers", "2")) == 0
    for subject in SUBJECTS:
        seq, par = _fold(tmp_path / "seq", subject), _fold(tmp_path / "par", subject)
        assert seq["probabilities"] == par["probabilities"] and seq["logits"] == par["logits"]
        assert seq["epoch_losses"] == par["epoch_losses"]
    report = json.loads((tmp_path / "par" / "seed_1" / "report.json").read_text())
    assert report["folds_done"] == 3
    assert (tmp_path / "par" / "seed_1" / "predictions.csv").read_text() == \
        (tmp_path / "seq" / "seed_1" / "predictions.csv").read_text()


def test_a_parallel_run_resumes_and_refuses_another_config(data_root, tmp_path, capsys):
    out = tmp_path / "run"
    assert cli_train.run(_args(data_root, out, "--workers", "2")) == 0
    first = (out / "seed_1" / "folds" / "s01.json").read_text()
    (out / "seed_1" / "folds" / "006.json").unlink()
    assert cli_train.run(_args(data_root, out, "--workers", "2")) == 0
    assert (out / "seed_1" / "folds" / "s01.json").read_text() == first  # finished folds are not retrained
    assert (out / "seed_1" / "folds" / "006.json").is_file()
    capsys.readouterr()
    assert cli_train.run(_args(data_root, out, "--workers", "2", "--lr", "0.5")) == 2
    assert "different configuration" in capsys.readouterr().err


def test_bad_worker_options_are_one_line_errors(data_root, tmp_path, capsys, monkeypatch):
    assert cli_train.run(_args(data_root, tmp_path / "o", "--workers", "0")) == 2
    assert capsys.readouterr().err.strip() == "error: --workers must be at least 1, got 0"
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed: `import ray` fails
    assert cli_train.run(_args(data_root, tmp_path / "o", "--ray", "auto")) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: --ray needs Ray, which is not installed: python -m pip install -r requirements-cluster.txt"
    assert not list((tmp_path / "o").glob("seed_*/folds/*.json"))


@pytest.mark.slow
def test_folds_as_ray_tasks_match_the_sequential_run(data_root, tmp_path, capsys):
    ray = pytest.importorskip("ray")
    two = ["--subjects", "sub01,s01"]
    assert cli_train.run(_args(data_root, tmp_path / "seq", *two)) == 0
    assert cli_train.run(_args(data_root, tmp_path / "ray", *two, "--ray", "local", "--workers", "2")) == 0
    assert not ray.is_initialized()
    for subject in ("sub01", "s01"):
        assert _fold(tmp_path / "seq", subject)["probabilities"] == _fold(tmp_path / "ray", subject)["probabilities"]
