"""Per-dataset heads trained end to end (issue 21): a LOSO run of the shipped live recipe in which every real
clip's logits are the shared head's plus a residual head of its own dataset (SMIC, CASME II, SAMM), zero at
the start; synthetic bank items use the shared head alone. At test each clip is read with its dataset's
head (the dataset of a LOSO test clip is known; a webcam's is not, so the live path could only use the
shared head). A session experiment: it patches the training loop instead of adding a model option.

usage (repository root): PYTHONPATH=. python results/per_dataset_heads/run.py SEED OUT_DIR
"""
import sys
import types

import torch
import torch.nn.functional as F
from torch import nn

import frl_core.training.loop as loop
import frl_core.training.loso as loso

DATASETS = ("casme2", "samm", "smic")
STATE: dict[str, torch.Tensor | None] = {"datasets": None}
_make_batch, _build_model = loop.make_batch, loop.build_model


def make_batch(samples, idx, *args, **kwargs):
    batch = _make_batch(samples, idx, *args, **kwargs)
    STATE["datasets"] = torch.tensor([DATASETS.index(samples.datasets[i]) if i < len(samples) else -1
                                      for i in idx])
    return batch


def forward_head(self, features):
    dropped = self.head_drop(features)
    logits = self.head(dropped)
    ds = STATE["datasets"]
    if ds is None or len(ds) != len(features):
        return logits
    residual = torch.einsum("bd,bcd->bc", dropped, self.ds_weight[ds.clamp(min=0)]) + self.ds_bias[ds.clamp(min=0)]
    return logits + residual * (ds >= 0).to(logits.dtype)[:, None]


def build_model(model_cfg, num_classes, class_names):
    model = _build_model(model_cfg, num_classes, class_names)
    d = model.head.in_features
    model.ds_weight = nn.Parameter(torch.zeros(len(DATASETS), num_classes, d))
    model.ds_bias = nn.Parameter(torch.zeros(len(DATASETS), num_classes))
    model.forward_head = types.MethodType(forward_head, model)
    return model


loop.make_batch = make_batch
loop.build_model = loso.build_model = build_model

if __name__ == "__main__":
    import main

    seed, out = sys.argv[1], sys.argv[2]
    sys.exit(main.main(["train", "--config", "configs/megc2019_live_clips.toml", "--seeds", seed,
                        "--set", "train.calibration_folds=0", "--workers", "1", "--out", out]))
