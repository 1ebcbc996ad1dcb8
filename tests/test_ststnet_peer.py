"""Peer reproduction: STSTNet's 68 published fold weights, run through this project's MEGC2019 reader and
metric code, must give the peer's logged UF1 0.7209 / UAR 0.7250. This pins the reader (file list, subject
split, flow channel order, labels) and the metric (pooled, macro over classes)."""

import torch

from frl_core.data.megc2019 import Megc2019
from frl_core.metrics import score
from frl_core.models.ststnet import load_ststnet
from frl_core.training.cli_evaluate import evaluate_fold_weights
from frl_core.training.config import load_config
from frl_core.training.samples import load_samples


def test_ststnet_published_weights_reproduce_uf1_uar(data_root, peers_root):
    ds = Megc2019(data_root)
    assert len(ds.subject_order()) == 68
    y_true, y_pred = [], []
    for subject in ds.subject_order():
        idx = ds.indices_of_subject(subject)
        model = load_ststnet(peers_root / "ststnet_weights" / f"{subject}.pth")
        flows = torch.from_numpy(ds.flows[idx].transpose(0, 3, 1, 2).astype("float32"))  # 0..255, as trained
        with torch.no_grad():
            y_pred += model(flows).argmax(1).tolist()
        y_true += ds.labels[idx].tolist()
    s = score(y_true, y_pred)
    assert round(s.uf1, 4) == 0.7209
    assert round(s.uar, 4) == 0.7250


def test_the_evaluate_command_path_gives_the_same_figures(data_root, peers_root):
    config = load_config(None)
    config["protocol"]["data_root"] = str(data_root)
    config["model"] = {"name": "ststnet", "input_mode": "flow"}
    samples = load_samples(config["protocol"], "flow", 28)
    report = evaluate_fold_weights(samples, peers_root / "ststnet_weights", config, torch.device("cpu"))
    assert report["folds_done"] == 68 and not report["missing_folds"]
    assert round(report["pooled"]["uf1"], 4) == 0.7209
    assert round(report["pooled"]["uar"], 4) == 0.7250
    assert sum(d["n"] for d in report["per_dataset"].values()) == 442
