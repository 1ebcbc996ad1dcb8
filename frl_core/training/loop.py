"""One fold's training and prediction, generic over the model (the network contract: ``model(*inputs) ->
logits`` and ``model.training_losses(batch) -> {"total": ...}``), its calibration, and ensembles."""

from __future__ import annotations

import os
import platform
import random
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from frl_core.models.frl_dgt import mirror_flow_image
from frl_core.models.ststnet import STSTNetClassifier
from frl_core.paths import REPO_ROOT
from frl_core.training.config import ConfigError, load_config
from frl_core.training.folds import TrainingError
from frl_core.training.samples import SampleSet, make_batch, mirror_batch, model_inputs


def build_model(model_cfg: dict[str, Any], num_classes: int, class_names: tuple[str, ...]) -> nn.Module:
    """The model a config names: "ststnet" (flow only) or any FRL-DGT variant of frl_core.models."""
    cfg = dict(model_cfg)
    name = cfg.pop("name", "frl_dgt_small")
    if name == "ststnet":
        if cfg.get("input_mode", "flow") != "flow":
            raise ConfigError("ststnet only takes flow input: set model.input_mode = \"flow\"")
        return STSTNetClassifier(num_classes=num_classes)
    from frl_core.models import create_model

    cfg.setdefault("num_classes", num_classes)
    cfg.setdefault("class_names", tuple(class_names))
    return create_model(name, **cfg)


def set_determinism(seed: int, device: torch.device) -> None:
    """Seed every generator. On CPU the kernels this loop uses are deterministic already (a test checks
    two runs give identical probabilities); torch's deterministic-algorithms mode is not switched on
    because it made FRL-DGT training 4x slower on CPU without changing the numbers."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
    if device.type == "cuda":
        torch.cuda.manual_seed_all(seed)


def resolve_device(name: str) -> torch.device:
    """The models' own device rule ("auto", "cpu", "cuda"), its failure as a TrainingError."""
    from frl_core.models.inference import DeviceError
    from frl_core.models.inference import resolve_device as models_resolve_device

    try:
        return models_resolve_device(name)
    except DeviceError as err:
        raise TrainingError(str(err)) from err


def _epoch_order(labels: np.ndarray, indices: np.ndarray, balanced: bool, rng: np.random.Generator,
                 size: int | None = None) -> np.ndarray:
    """This epoch's sample order: a shuffle, or (balanced) the same number of draws with class-equal odds.
    ``size`` draws that many instead (with replacement when balanced, a prefix of the shuffle when not)."""
    size = len(indices) if size is None else int(size)
    if not balanced:
        return rng.permutation(indices)[:size]
    lab = labels[indices]
    counts = np.bincount(lab, minlength=int(labels.max()) + 1).astype(np.float64)
    weights = 1.0 / counts[lab]
    return rng.choice(indices, size=size, replace=True, p=weights / weights.sum())


def train_model(
    model: nn.Module,
    samples: SampleSet,
    train_indices: np.ndarray,
    config: dict[str, Any],
    device: torch.device,
    seed: int,
    progress: Callable[[int, float], None] | None = None,
) -> list[float]:
    """Train for exactly train.epochs epochs on the given clips; returns the mean loss of each epoch."""
    tcfg = config["train"]
    mode = config["model"].get("input_mode", "flow")
    img_size = int(config["model"].get("img_size", 224))
    set_determinism(seed, device)
    rng = np.random.default_rng(seed)
    if mode == "pair" and int(tcfg.get("dgm_pretrain_steps", 0) or 0) > 0:
        from frl_core.training.dgm_pretrain import pretrain_dgm

        pretrain_dgm(model, samples, train_indices, tcfg, device, rng)
    model.to(device).train()
    optimiser = torch.optim.AdamW(model.parameters(), lr=float(tcfg["lr"]), weight_decay=float(tcfg["weight_decay"]))
    epochs = int(tcfg["epochs"])
    bs = int(tcfg["batch_size"])
    # synthetic AU flow images of the training subjects' faces (au_augment), this many per real clip
    share = float(tcfg.get("au_augment", 0.0) or 0.0)
    synthetic = samples.augment_indices(train_indices) if share > 0 else np.zeros(0, np.int64)
    n_synthetic = int(round(share * len(train_indices))) if len(synthetic) else 0
    steps_per_epoch = max(1, int(np.ceil((len(train_indices) + n_synthetic) / bs)))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=float(tcfg["lr"]), total_steps=max(1, epochs * steps_per_epoch), pct_start=0.1
    )
    # the live path's reading of a training clip (its DGM twin) pulled towards flow mode's reading of it
    consistency = float(tcfg.get("live_consistency", 0.0) or 0.0)
    twins = samples.clip_twins() if consistency > 0 else None
    if twins is not None and not (twins >= 0).any():
        raise ConfigError("train.live_consistency needs the clip bank (train.au_augment_clips = true)")
    losses = []
    for epoch in range(epochs):
        balanced = bool(tcfg.get("balanced_sampling", True))
        order = _epoch_order(samples.all_labels, train_indices, balanced, rng)
        if n_synthetic:
            extra = _epoch_order(samples.all_labels, synthetic, balanced, rng, n_synthetic)
            order = rng.permutation(np.concatenate([order, extra]))
        total, n = 0.0, 0
        for start in range(0, len(order), bs):
            idx = order[start:start + bs]
            if len(idx) < 2:
                continue
            batch = make_batch(samples, idx, mode, img_size, True, rng, bool(tcfg.get("hflip", True)))
            batch = {k: v.to(device) for k, v in batch.items()}
            loss = model.training_losses(batch)["total"]
            if twins is not None:
                loss = loss + consistency * _twin_consistency(model, samples, idx, twins, rng, device)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            scheduler.step()
            total += float(loss.detach()) * len(idx)
            n += len(idx)
        losses.append(total / max(n, 1))
        if progress is not None:
            progress(epoch, losses[-1])
    model.eval()
    return losses


def _twin_consistency(model: nn.Module, samples: SampleSet, idx: np.ndarray, twins: np.ndarray,
                      rng: np.random.Generator, device: torch.device) -> torch.Tensor:
    """KL divergence of the model on the batch's real clips' DGM twins from its (fixed) reading of the real
    flow images, both mirrored alike."""
    real = idx[idx < len(samples)]
    real = real[twins[real] >= 0]
    if len(real) < 2:
        return torch.zeros((), device=device)
    flows = samples.flow_tensor()
    real_flow, twin_flow = flows[torch.from_numpy(real)], flows[torch.from_numpy(twins[real])]
    flip = torch.from_numpy(rng.random(len(real)) < 0.5)
    if flip.any():
        real_flow[flip], twin_flow[flip] = mirror_flow_image(real_flow[flip]), mirror_flow_image(twin_flow[flip])
    with torch.no_grad():
        target = torch.softmax(model(real_flow.to(device)), dim=1)
    return torch.nn.functional.kl_div(torch.log_softmax(model(twin_flow.to(device)), dim=1), target,
                                      reduction="batchmean")


@torch.no_grad()
def predict(
    model: nn.Module, samples: SampleSet, indices: np.ndarray, config: dict[str, Any], device: torch.device
) -> np.ndarray:
    """Class probabilities (len(indices), C) of a trained model, in eval mode.

    With ``train.tta_hflip`` the probabilities are averaged with those of the mirrored input (a fixed part
    of the recipe, the same for every fold, not tuned on a held-out subject).
    """
    mode = config["model"].get("input_mode", "flow")
    img_size = int(config["model"].get("img_size", 224))
    bs = int(config["train"].get("eval_batch_size", 64))
    tta_hflip = bool(config["train"].get("tta_hflip", False))
    model.eval()
    out = []
    for start in range(0, len(indices), bs):
        batch = make_batch(samples, indices[start:start + bs], mode, img_size, False, None)
        probs = torch.softmax(model(*model_inputs(batch, mode, device)).float(), dim=1)
        if tta_hflip:
            mirrored = mirror_batch(batch)
            probs = (probs + torch.softmax(model(*model_inputs(mirrored, mode, device)).float(), dim=1)) / 2
        out.append(probs.cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, len(samples.class_names)), np.float32)


@torch.no_grad()
def predict_logits(
    model: nn.Module, samples: SampleSet, indices: np.ndarray, config: dict[str, Any], device: torch.device
) -> tuple[np.ndarray, np.ndarray | None]:
    """Logits (len(indices), C) of a trained model and, with ``train.tta_hflip``, of the mirrored inputs
    (None otherwise): what :func:`predict` averages, before the softmax, for calibration."""
    mode = config["model"].get("input_mode", "flow")
    img_size = int(config["model"].get("img_size", 224))
    bs = int(config["train"].get("eval_batch_size", 64))
    tta_hflip = bool(config["train"].get("tta_hflip", False))
    model.eval()
    plain, mirrored = [], []
    for start in range(0, len(indices), bs):
        batch = make_batch(samples, indices[start:start + bs], mode, img_size, False, None)
        plain.append(model(*model_inputs(batch, mode, device)).float().cpu().numpy())
        if tta_hflip:
            mirrored.append(model(*model_inputs(mirror_batch(batch), mode, device)).float().cpu().numpy())
    c = len(samples.class_names)
    first = np.concatenate(plain) if plain else np.zeros((0, c), np.float32)
    return first, (np.concatenate(mirrored) if mirrored else (np.zeros((0, c), np.float32) if tta_hflip else None))


def fit_calibration(
    samples: SampleSet, train_indices: np.ndarray, config: dict[str, Any], device: torch.device, fold_seed: int
) -> dict[str, Any]:
    """Temperature and uncertainty threshold from ``train.calibration_folds`` inner subject-grouped folds
    of the training subjects (same recipe, one model per inner fold): never sees the test subject."""
    from frl_core.training.calibration import (
        calibrated_probabilities, choose_uncertain_threshold, expected_calibration_error, fit_temperature,
        inner_subject_folds)

    k = int(config["train"].get("calibration_folds", 0) or 0)
    folds = inner_subject_folds(samples.subjects, train_indices, k, fold_seed + 700_001)
    logits, mirrored, labels = [], [], []
    for j, (inner_train, inner_test) in enumerate(folds):
        inner_seed = fold_seed + 500_009 * (j + 1)
        set_determinism(inner_seed, device)
        model = build_model(config["model"], len(samples.class_names), samples.class_names)
        train_model(model, samples, inner_train, config, device, inner_seed)
        plain, mirror = predict_logits(model, samples, inner_test, config, device)
        logits.append(plain)
        if mirror is not None:
            mirrored.append(mirror)
        labels.append(samples.labels[inner_test])
    oof = np.concatenate(logits)
    oof_m = np.concatenate(mirrored) if mirrored else None
    y = np.concatenate(labels)
    temperature = fit_temperature(oof, y, oof_m)
    probs = calibrated_probabilities(oof, oof_m, temperature)
    threshold = choose_uncertain_threshold(probs, y, float(config["train"].get("uncertain_max_accuracy", 0.5)))
    return {
        "temperature": round(temperature, 6),
        "uncertain_below": round(threshold, 6),
        "inner_indices": np.concatenate([held for _, held in folds]).tolist(),
        "inner_labels": y.tolist(),
        "inner_logits": np.round(oof, 5).tolist(),
        "inner_logits_mirrored": None if oof_m is None else np.round(oof_m, 5).tolist(),
        "inner_folds": len(folds),
        "inner_clips": int(len(y)),
        "inner_ece_before": expected_calibration_error(calibrated_probabilities(oof, oof_m, 1.0), y)[0],
        "inner_ece_after": expected_calibration_error(probs, y)[0],
    }


def ensemble_size(config: dict[str, Any]) -> int:
    """``train.ensemble``: how many models each fold trains (different seeds, same data); 1 = one model."""
    k = int(config["train"].get("ensemble", 1))
    if k < 1:
        raise ConfigError(f"train.ensemble must be >= 1, not {k}")
    return k


MEMBER_CONFIGS: dict[str, str] = {"ststnet": "ststnet_flow.toml"}
"""The config file (in configs/) whose recipe each network ``train.extra_members`` may name trains with,
so a member trains as it does alone."""

_RECIPE_KEYS = ("epochs", "lr", "weight_decay", "batch_size")


def extra_member_configs(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The config each ``train.extra_members`` entry trains with: its model and recipe, the rest shared."""
    out = []
    for name in config["train"].get("extra_members", []) or []:
        if name not in MEMBER_CONFIGS:
            raise ConfigError(f"train.extra_members: unknown member {name!r} (known: {', '.join(MEMBER_CONFIGS)})")
        own = load_config(REPO_ROOT / "configs" / MEMBER_CONFIGS[name])
        recipe = {k: own["train"][k] for k in _RECIPE_KEYS}
        member = {**config, "model": {"name": name, "input_mode": config["model"].get("input_mode", "flow")},
                  "train": {**config["train"], **recipe}}
        out.append(member)
    return out


def total_epochs(config: dict[str, Any]) -> int:
    """Epochs one fold trains over all ensemble members (for its progress bar)."""
    return int(config["train"]["epochs"]) * ensemble_size(config) + sum(
        int(m["train"]["epochs"]) for m in extra_member_configs(config))


def fit_members(
    model: nn.Module,
    samples: SampleSet,
    train_indices: np.ndarray,
    config: dict[str, Any],
    device: torch.device,
    seed: int,
    progress: Callable[[int, float], None] | None = None,
) -> tuple[list[nn.Module], list[float]]:
    """Train ``model`` and, with ``train.ensemble`` = K > 1, K - 1 more of the same config on the same
    clips from other seeds, then one of each ``train.extra_members`` network with its own recipe. The
    first member uses ``seed`` itself, so K = 1 without extra members is exactly one model. Returns the
    members and the first member's epoch losses."""
    members = [model]
    losses = train_model(model, samples, train_indices, config, device, seed, progress)
    specs = [(config, seed + 100_003 * k) for k in range(1, ensemble_size(config))]
    specs += [(extra, seed + 200_003 * j) for j, extra in enumerate(extra_member_configs(config), start=1)]
    for member_config, member_seed in specs:
        set_determinism(member_seed, device)
        member = build_model(member_config["model"], len(samples.class_names), samples.class_names)
        train_model(member, samples, train_indices, member_config, device, member_seed, progress)
        members.append(member)
    return members, losses


def predict_members(
    members: list[nn.Module], samples: SampleSet, indices: np.ndarray, config: dict[str, Any], device: torch.device
) -> np.ndarray:
    """The ensemble's class probabilities: the mean of its members' (each with its own mirror TTA)."""
    return np.mean([predict(m, samples, indices, config, device) for m in members], axis=0)


def fit_predict(config: dict[str, Any], samples: SampleSet, train_indices: np.ndarray, test_indices: np.ndarray,
                seed: int, device: torch.device) -> np.ndarray:
    """A fresh model of ``config`` trained on ``train_indices`` from ``seed`` (ensemble members included),
    and its class probabilities on ``test_indices``: one fold of a cross-validation."""
    set_determinism(seed, device)
    model = build_model(config["model"], len(samples.class_names), samples.class_names)
    members, _ = fit_members(model, samples, train_indices, config, device, seed)
    return predict_members(members, samples, test_indices, config, device)


def machine_description(device: torch.device) -> dict[str, Any]:
    info = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "device": str(device),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info
