"""``python main.py train``: run a LOSO protocol, or train on all clips and save a checkpoint.

    python main.py train --config configs/megc2019_flow.toml            # 68-fold LOSO, seeds from config
    python main.py train --config configs/megc2019_flow.toml --seeds 1,2,3 --epochs 30
    python main.py train --config configs/megc2019_pair.toml --all-data --save assets/weights/frl_dgt_pair.pt

Config values come from the TOML file; ``--set section.key=value`` (repeatable) and the shortcut flags
override them. The resolved config is saved next to the results. Re-running the same command on the same
output folder resumes after the last finished fold.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from frl_core.data.common import DatasetError
from frl_core.training.config import (ConfigError, apply_override, load_config, parse_override, save_resolved,
                                      validate)

SHORTCUTS: dict[str, tuple[str, str]] = {
    "protocol": ("protocol", "name"),
    "data_root": ("protocol", "data_root"),
    "frames_root": ("protocol", "frames_root"),
    "model": ("model", "name"),
    "input_mode": ("model", "input_mode"),
    "epochs": ("train", "epochs"),
    "batch_size": ("train", "batch_size"),
    "lr": ("train", "lr"),
    "threads": ("train", "threads"),
    "out": ("output", "dir"),
}


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="TOML config file (see configs/)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override one config value, e.g. --set train.epochs=5 (repeatable)")
    parser.add_argument("--protocol", help="megc2019-loso | casme2-5class-loso | samm-5class-loso")
    parser.add_argument("--data-root", help="research data root (holding megc2019/ and annotations/)")
    parser.add_argument("--frames-root", help="raw dataset frames root (casme2/samm protocols)")
    parser.add_argument("--model", help="model name: frl_dgt_small, frl_dgt_base, ststnet")
    parser.add_argument("--input-mode", choices=["flow", "pair"])
    parser.add_argument("--out", help="output folder")
    parser.add_argument("--device", default="cpu", help="cpu | cuda | auto (default cpu)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (0 = torch's default)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser)
    parser.add_argument("--epochs", type=int, help="fixed number of epochs per fold")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--seeds", help="comma-separated seeds, e.g. 1,2,3 (one LOSO run each)")
    parser.add_argument("--subjects", help="comma-separated held-out subjects: run only these folds")
    parser.add_argument("--save-checkpoints", action="store_true", help="save each fold's trained model")
    parser.add_argument("--all-data", action="store_true", help="train once on every clip (no LOSO)")
    parser.add_argument("--save", help="--all-data: where to write the checkpoint (.pt)")
    from frl_core.parallel import add_backend_arguments

    add_backend_arguments(parser, "train LOSO folds and seeds", "1, one fold after another")


def resolve_config(args: argparse.Namespace) -> dict[str, Any]:
    """Defaults <- TOML file <- --set overrides <- shortcut flags."""
    config = load_config(getattr(args, "config", None))
    for text in getattr(args, "overrides", []) or []:
        apply_override(config, *parse_override(text))
    for attr, (section, key) in SHORTCUTS.items():
        value = getattr(args, attr, None)
        if value is not None:
            config[section][key] = value
    if getattr(args, "seeds", None):
        try:
            config["train"]["seeds"] = [int(s) for s in args.seeds.split(",") if s.strip()]
        except ValueError:
            raise ConfigError(f"--seeds {args.seeds!r}: give integers separated by commas") from None
    if getattr(args, "subjects", None):
        config["protocol"]["subjects"] = [s.strip() for s in args.subjects.split(",") if s.strip()]
    if getattr(args, "save_checkpoints", False):
        config["output"]["save_checkpoints"] = True
    out = Path(config["output"]["dir"])
    if out.exists() and not out.is_dir():
        raise ConfigError(f"output folder {out} is a file: give a folder with --out")
    return validate(config)


def _run_loso(config: dict[str, Any], args: argparse.Namespace) -> int:
    from frl_core.training.loop import resolve_device
    from frl_core.training.loso import run_loso
    from frl_core.training.report import combine_seeds
    from frl_core.training.report import format_report, format_seed_summary
    from frl_core.training.samples import samples_for

    device = resolve_device(args.device)
    out_dir = Path(config["output"]["dir"])
    mode = config["model"].get("input_mode", "flow")
    samples = samples_for(config)
    started = time.perf_counter()
    workers, ray_address = getattr(args, "workers", None), getattr(args, "ray", None)
    if ray_address is not None or (workers or 1) > 1:
        from frl_core.parallel import make_backend
        from frl_core.training.parallel_folds import run_folds_in_parallel

        run_folds_in_parallel(config, out_dir, samples, args.device, make_backend(workers, ray_address),
                              show_progress=not args.no_progress)
    reports = []
    for seed in config["train"]["seeds"]:
        seed_dir = out_dir / f"seed_{seed}"
        report = run_loso(config, seed_dir, device, seed, show_progress=not args.no_progress, samples=samples)
        reports.append(report)
        print(format_report(report))
    save_resolved(config, out_dir)
    summary: dict[str, Any] = {
        "protocol": config["protocol"]["name"],
        "input_mode": mode,
        "semi_synthetic": reports[0]["semi_synthetic"],
        "data": reports[0]["data"],
        "runs": [str(out_dir / f"seed_{s}" / "report.json") for s in config["train"]["seeds"]],
        "wall_seconds_this_invocation": round(time.perf_counter() - started, 2),
        "machine": reports[0]["machine"],
    }
    if len(reports) > 1:
        summary.update(combine_seeds(reports))
        print(format_seed_summary(summary, reports[0]["semi_synthetic"]))
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"results: {out_dir}")
    return 0


def _run_all_data(config: dict[str, Any], args: argparse.Namespace) -> int:
    import numpy as np

    from frl_core.training.loop import build_model, resolve_device, set_determinism, train_model
    from frl_core.training.samples import samples_for

    if not args.save:
        raise ConfigError("--all-data needs --save PATH for the checkpoint")
    device = resolve_device(args.device)
    mode = config["model"].get("input_mode", "flow")
    samples = samples_for(config)
    seed = int(config["train"]["seeds"][0])
    set_determinism(seed, device)
    model = build_model(config["model"], len(samples.class_names), samples.class_names)
    started = time.perf_counter()
    losses = train_model(model, samples, np.arange(len(samples)), config, device, seed,
                         (lambda e, loss: print(f"epoch {e + 1}/{config['train']['epochs']} loss {loss:.4f}", flush=True))
                         if not args.no_progress else None)
    seconds = time.perf_counter() - started
    calibration = None
    if int(config["train"].get("calibration_folds", 0) or 0) > 1:
        from frl_core.training.loop import fit_calibration

        print("calibration: inner subject-grouped folds for the temperature and the uncertainty threshold",
              flush=True)
        calibration = fit_calibration(samples, np.arange(len(samples)), config, device, seed * 1000)
    metadata = {
        "trained_on": f"{config['protocol']['name']} - all {len(samples)} clips, "
                      f"{len(samples.subject_order())} subjects (no held-out data)",
        "data": samples.data_label,
        "semi_synthetic": bool(mode == "pair" and samples.semi_synthetic),
        "class_names": list(samples.class_names),
        "input_mode": mode,
        "train": config["train"],
        "model": config["model"],
        "final_epoch_loss": round(losses[-1], 5) if losses else None,
        "train_seconds": round(seconds, 1),
        "seed": seed,
        "model_card": "assets/weights/MODEL_CARD.md",
        "inference": {"tta_hflip": bool(config["train"].get("tta_hflip", False)),
                      "temperature": float((calibration or {}).get("temperature", 1.0)),
                      "uncertain_below": float((calibration or {}).get("uncertain_below", 0.0))},
    }
    if calibration is not None:
        # the inner held-out predictions travel along: `assemble-live` fits an ensemble's threshold on them
        metadata["calibration"] = calibration
    from frl_core.models.checkpoint import save_checkpoint

    path = Path(args.save)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(model.cpu(), path, metadata=metadata)
    out_dir = Path(config["output"]["dir"])
    save_resolved(config, out_dir)
    (out_dir / f"all_data_training_seed{seed}.json").write_text(json.dumps({**metadata, "calibration": calibration,
                                                              "checkpoint": str(path), "epoch_losses": losses},
                                                             indent=2))
    print(f"trained on all {len(samples)} clips in {seconds:.0f} s; saved {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


def user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions whose message is meant for the user: printed as one line, never as a traceback."""
    from frl_core.training.folds import TrainingError

    from frl_core.parallel import BackendError

    errors: list[type[BaseException]] = [ConfigError, DatasetError, TrainingError, BackendError]
    try:
        from frl_core.models.checkpoint import CheckpointError

        errors.append(CheckpointError)
    except ImportError:
        pass
    return tuple(errors)


def run(args: argparse.Namespace) -> int:
    try:
        config = resolve_config(args)
        if getattr(args, "workers", None) is not None and args.workers < 1:
            raise ConfigError(f"--workers must be at least 1, got {args.workers}")
        if args.all_data and (getattr(args, "workers", None) or getattr(args, "ray", None)):
            raise ConfigError("--workers and --ray run LOSO folds in parallel; --all-data trains one model")
        if args.all_data:
            return _run_all_data(config, args)
        return _run_loso(config, args)
    except user_errors() as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: run the same command again to resume after the last finished fold", file=sys.stderr)
        return 130
