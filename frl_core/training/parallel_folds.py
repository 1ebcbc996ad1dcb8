"""LOSO folds and seeds as parallel tasks (``train --workers N`` or ``--ray``), with the sequential run's numbers.

Each task names a seed and a held-out subject; the worker loads the protocol's clips itself (once per
worker process, from the same files the driver reads), trains the fold exactly as the sequential run does
(the fold's own seed, one torch thread) and writes ``seed_<s>/folds/<subject>.json``. The driver then
summarises every seed from those files as a resumed run would, so reports, predictions and resume are
those of the sequential path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

_CACHE: dict[str, Any] = {}
"""This worker's loaded clips, keyed by the config parts that decide them."""


def _samples(config: dict[str, Any]):
    from frl_core.training.samples import samples_for

    mode = config["model"].get("input_mode", "flow")
    img_size = int(config["model"].get("img_size", 224))
    key = json.dumps([config["protocol"], mode, img_size,
                      {k: v for k, v in config["train"].items() if k.startswith("au_augment")},
                      float(config["model"].get("au_loss_weight", 0.0) or 0.0) > 0], sort_keys=True, default=str)
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = samples_for(config)
    return _CACHE[key]


def setup_fold_worker(threads: int) -> None:
    """torch's CPU threads in this worker: the config's ``train.threads``, else one (bit-identical on CPU)."""
    import torch

    torch.set_num_threads(threads if threads > 0 else 1)


def fold_task(task: dict[str, Any]) -> dict[str, Any]:
    """Train the fold ``task`` names (seed, held-out subject) in this worker and write its record."""
    from frl_core.training.config import fingerprint
    from frl_core.training.loop import resolve_device
    from frl_core.training.loso import protocol_folds, train_fold

    config = task["config"]
    samples = _samples(config)
    fold = next(f for f in protocol_folds(config, samples) if f.test_subject == task["subject"])
    record = train_fold(config, samples, fold, Path(task["out_dir"]), resolve_device(task["device"]), task["seed"],
                        fingerprint(config))
    return {"subject": record["subject"], "seed": record["seed"], "train_seconds": record["train_seconds"]}


def run_folds_in_parallel(config: dict[str, Any], out_dir: Path, samples, device: str, backend,
                          show_progress: bool = True) -> int:
    """Train every unfinished (seed, fold) of ``config`` on ``backend``; the number trained.

    Raises TrainingError naming the folds that failed (the finished ones stay on disk, so a rerun resumes).
    """
    from tqdm import tqdm

    from frl_core.training.folds import TrainingError
    from frl_core.training.loso import finished_fold, prepare_run_dir, protocol_folds

    folds = protocol_folds(config, samples)
    tasks = []
    for seed in config["train"]["seeds"]:
        seed_dir = Path(out_dir) / f"seed_{seed}"
        fp = prepare_run_dir(config, seed_dir)
        tasks += [{"config": config, "out_dir": str(seed_dir), "device": device, "seed": int(seed),
                   "subject": fold.test_subject} for fold in folds if finished_fold(seed_dir, fold, fp, seed) is None]
    if not tasks:
        return 0
    failed = []
    bar = tqdm(total=len(tasks), desc=f"LOSO folds ({backend.name}, {backend.workers} workers)", unit="fold",
               disable=not show_progress)
    threads = int(config["train"].get("threads", 0) or 0)
    try:
        for i, _result, error in backend.run(fold_task, tasks, setup=setup_fold_worker, setup_args=(threads,)):
            if error is not None:
                failed.append(f"seed {tasks[i]['seed']} {tasks[i]['subject']}: {error}")
            bar.update(1)
    finally:
        bar.close()
        backend.shutdown()
    if failed:
        raise TrainingError(f"{len(failed)} of {len(tasks)} folds failed ({'; '.join(failed[:3])}); "
                            "rerun the same command to resume")
    return len(tasks)
