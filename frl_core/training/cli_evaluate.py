"""``python main.py evaluate``: describe a checkpoint, score per-fold weights, or summarise a LOSO run.

    python main.py evaluate assets/weights/frl_dgt_live.pt          # what is this file? (its model card)
    python main.py evaluate --fold-weights ../shared/peers/ststnet_weights --model ststnet
    python main.py evaluate --fold-weights runs/x/seed_1/checkpoints  # FRL-DGT fold checkpoints
    python main.py evaluate --run runs/megc2019_flow                  # pooled figures of a (partial) run
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from frl_core.training.cli_train import add_common_arguments, resolve_config, user_errors
from frl_core.models.ststnet import STSTNetClassifier
from frl_core.training.folds import TrainingError, make_folds, read_fold_record
from frl_core.training.loop import predict, resolve_device
from frl_core.training.report import summarise
from frl_core.training.samples import SampleSet, load_samples


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", nargs="?", help="a checkpoint file: print what it is")
    add_common_arguments(parser)
    parser.add_argument("--fold-weights", help="folder with one weights file per held-out subject (<subject>.pth/.pt)")
    parser.add_argument("--run", help="a LOSO output folder: print its pooled figures from the saved predictions")
    parser.add_argument("--per-fold", action="store_true", help="also print per-fold figures")
    parser.add_argument("--json", dest="json_out", help="also write the report as JSON here")
    parser.add_argument("--seeds", help="--run: only these of its seeds (comma-separated), e.g. the ones a file ships")
    parser.add_argument("--reliability", help="--run: write the reliability diagram of its calibration (of its "
                        "seeds as one ensemble when it has several) to this PNG")


def describe_checkpoint(path: Path) -> str:
    """The metadata / model card a checkpoint carries, as text."""
    from frl_core.models.checkpoint import load_checkpoint

    model, metadata = load_checkpoint(path, device="cpu")
    n_params = sum(p.numel() for p in model.parameters())
    lines = [f"checkpoint {path} ({path.stat().st_size / 1e6:.2f} MB, {n_params / 1e6:.2f} M parameters)",
             f"model class {type(model).__name__}"]
    cfg = getattr(model, "config", None)
    if cfg is not None:
        lines.append(f"config {cfg}")
    figures = metadata.get("figures")
    if isinstance(figures, dict) and figures:
        lines.append("measured figures (recorded when the file was built; commands in the model card):")
        for name, text in figures.items():
            lines.append(f"  {name}: {text}")
    for key, value in metadata.items():
        if key == "figures":
            continue
        text = json.dumps(value) if isinstance(value, (dict, list)) else str(value)
        lines.append(f"{key}: {text}")
    if metadata.get("semi_synthetic"):
        lines.append("NOTE: trained on semi-synthetic onset/apex pairs; its LOSO figures are semi-synthetic")
    return "\n".join(lines)


def _load_fold_model(path: Path, model_name: str | None, num_classes: int, device: torch.device) -> torch.nn.Module:
    if model_name == "ststnet":
        model = STSTNetClassifier(num_classes=num_classes)
        try:
            state = torch.load(str(path), map_location="cpu", weights_only=True)
        except Exception as err:
            raise TrainingError(f"{path} was refused: not a plain weights file (it may contain code, which is "
                                "never loaded)") from err
        if isinstance(state, dict) and "state_dict" in state:
            state = state["state_dict"]
        model.net.load_state_dict(state)
        return model.to(device).eval()
    from frl_core.models.checkpoint import load_checkpoint

    model, _ = load_checkpoint(path, device=str(device))
    return model.eval()


def evaluate_fold_weights(
    samples: SampleSet,
    weights_dir: Path,
    config: dict[str, Any],
    device: torch.device,
) -> dict[str, Any]:
    """Each fold's weights predict only its own held-out subject; UF1/UAR on the pooled predictions."""
    weights_dir = Path(weights_dir)
    if not weights_dir.is_dir():
        raise TrainingError(f"no folder of fold weights at {weights_dir}")
    records = []
    missing = []
    for fold in make_folds(samples.subjects, list(config["protocol"].get("subjects") or [])):
        files = [weights_dir / f"{fold.test_subject}{ext}" for ext in (".pth", ".pt")]
        path = next((f for f in files if f.is_file()), None)
        if path is None:
            missing.append(fold.test_subject)
            continue
        model = _load_fold_model(path, config["model"].get("name"), len(samples.class_names), device)
        probs = predict(model, samples, fold.test_indices, config, device)
        records.append({"subject": fold.test_subject, "indices": fold.test_indices.tolist(),
                        "y_true": samples.labels[fold.test_indices].tolist(), "y_pred": probs.argmax(1).tolist()})
    if not records:
        raise TrainingError(f"{weights_dir} holds no <subject>.pth / .pt file for any fold of the protocol")
    report = summarise(samples, records)
    report.update({"protocol": config["protocol"]["name"], "input_mode": config["model"].get("input_mode", "flow"),
                   "weights": str(weights_dir), "missing_folds": missing, "seed": None,
                   "semi_synthetic": bool(config["model"].get("input_mode") == "pair" and samples.semi_synthetic)})
    return report


def _reports_of_run(run_dir: Path) -> list[dict[str, Any]]:
    """Recompute every seed's report from its saved fold predictions (works on unfinished runs too)."""
    return [report for report, _ in _seed_runs(run_dir)]


def _seed_runs(run_dir: Path, seeds: str | None = None) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """(report, fold records) of every seed of a LOSO run folder (of ``seeds`` only, when given)."""
    from frl_core.training.config import load_config

    seed_dirs = sorted(p for p in run_dir.glob("seed_*") if p.is_dir()) or [run_dir]
    if seeds:
        wanted = {f"seed_{s.strip()}" for s in seeds.split(",") if s.strip()}
        missing = wanted - {p.name for p in seed_dirs}
        if missing:
            raise TrainingError(f"{run_dir} has no {', '.join(sorted(missing))} (--seeds {seeds})")
        seed_dirs = [p for p in seed_dirs if p.name in wanted]
    out = []
    for seed_dir in seed_dirs:
        fold_files = sorted((seed_dir / "folds").glob("*.json"))
        if not fold_files:
            continue
        config = load_config(seed_dir / "config.resolved.toml")
        records = [read_fold_record(f) for f in fold_files]
        records.sort(key=lambda r: r["fold"])
        samples = load_samples(config["protocol"], "flow", 28)
        report = summarise(samples, records)
        report.update({"protocol": config["protocol"]["name"], "input_mode": config["model"].get("input_mode"),
                       "seed": records[0].get("seed"), "hold_out": config["protocol"].get("hold_out", "subject"),
                       "semi_synthetic": (config["model"].get("input_mode") == "pair"
                                          and config["protocol"]["name"] == "megc2019-loso"),
                       "train_seconds_all_folds": round(sum(r.get("train_seconds") or 0 for r in records), 2)})
        out.append((report, records))
    if not out:
        raise TrainingError(f"{run_dir} holds no finished fold (expected seed_*/folds/*.json)")
    return out


def _calibration_of_run(seed_runs: list[tuple[dict[str, Any], list[dict[str, Any]]]]) -> list[dict[str, Any]]:
    """Each seed's calibration (its in-fold one when the run trained with calibration folds, and the
    cross-fitted estimate, which is all a run without them has: where both exist they can be compared),
    then the seeds as one ensemble, each at its own temperature (cross-fitted)."""
    from frl_core.training.calibration import cross_fitted_calibration

    out = []
    unit = seed_runs[0][0].get("hold_out", "subject") if seed_runs else "subject"
    for report, records in seed_runs:
        if "calibration" in report:
            out.append({"seeds": [report["seed"]], "method": "in-fold (inner subject-grouped folds)",
                        **report["calibration"]})
        if all(r.get("logits") is not None for r in records) and len(records) > 1:
            out.append({"seeds": [report["seed"]], **cross_fitted_calibration([records], unit=unit)})
    complete = [records for _, records in seed_runs if all(r.get("logits") is not None for r in records)]
    subjects = [sorted(str(r["subject"]) for r in records) for records in complete]
    if (len(complete) > 1 and len(complete) == len(seed_runs) and len(subjects[0]) > 1
            and all(s == subjects[0] for s in subjects)):
        out.append({"seeds": [report["seed"] for report, _ in seed_runs],
                    **cross_fitted_calibration(complete, unit=unit)})
    return out


def _subject_spread(records: list[dict[str, Any]]):
    """The pooled figures' 95 % intervals over resampled subjects (folds), or None for a run of one fold."""
    from frl_core.metrics import subject_bootstrap

    if len(records) < 2:
        return None
    y = [int(v) for r in records for v in r["y_true"]]
    pred = [int(v) for r in records for v in r["y_pred"]]
    folds = [str(r["fold"]) for r in records for _ in r["y_true"]]
    return subject_bootstrap(y, pred, folds)


def _write_json(path: str, text: str) -> None:
    try:
        Path(path).write_text(text)
    except OSError as err:
        raise TrainingError(f"cannot write --json {path}: {err.strerror or err}") from err


def run(args: argparse.Namespace) -> int:
    from frl_core.training.report import format_report, format_seed_summary

    try:
        if args.checkpoint and not args.fold_weights:
            path = Path(args.checkpoint)
            if not path.is_file():
                print(f"error: checkpoint file not found: {path}", file=sys.stderr)
                return 2
            print(describe_checkpoint(path))
            return 0
        if args.run:
            from frl_core.training.report import format_calibration

            seed_runs = _seed_runs(Path(args.run), args.seeds)
            reports = [report for report, _ in seed_runs]
            for report, records in seed_runs:
                print(format_report(report, per_fold=args.per_fold))
                # Three held-out datasets are too few folds to resample.
                spread = _subject_spread(records) if report.get("hold_out") != "dataset" else None
                if spread is not None:
                    report["subject_bootstrap"] = spread.as_dict()
                    print(f"with other subjects of the same kind (95 % of {spread.resamples} resamples by subject): "
                          f"UF1 {spread.uf1_interval[0]:.4f}-{spread.uf1_interval[1]:.4f}, "
                          f"UAR {spread.uar_interval[0]:.4f}-{spread.uar_interval[1]:.4f}")
            if len(reports) > 1:
                from frl_core.training.report import combine_seeds

                print(format_seed_summary(combine_seeds(reports), reports[0]["semi_synthetic"]))
            calibrations = _calibration_of_run(seed_runs)
            for cal in calibrations:
                print(format_calibration(cal))
            if args.reliability:
                if not calibrations:
                    raise TrainingError("the run's fold records carry no logits to calibrate: no reliability diagram")
                from frl_core.training.calibration import reliability_diagram

                cal = calibrations[-1]
                seeds = ("seed " if len(cal["seeds"]) == 1 else "seeds ") + "+".join(str(s) for s in cal["seeds"])
                try:
                    written = reliability_diagram(cal["reliability"], args.reliability,
                                                  f"{seeds}, calibrated: ECE {cal['ece_calibrated']:.3f} "
                                                  f"(uncalibrated {cal['ece_uncalibrated']:.3f})")
                except OSError as err:
                    raise TrainingError(f"cannot write --reliability {args.reliability}: {err}") from err
                print(f"reliability diagram: {written}")
            if args.json_out:
                for report in reports:
                    estimate = [c for c in calibrations if c["seeds"] == [report["seed"]] and "cross" in c["method"]]
                    if estimate:
                        report["calibration_estimate"] = estimate[0]
                ensemble = [c for c in calibrations if len(c["seeds"]) > 1]
                payload: Any = reports if not ensemble else {"seeds": reports, "ensemble_calibration": ensemble[0]}
                _write_json(args.json_out, json.dumps(payload, indent=2))
            return 0
        if args.fold_weights:
            config = resolve_config(args)
            device = resolve_device(args.device)
            samples = load_samples(config["protocol"], config["model"].get("input_mode", "flow"),
                                   int(config["model"].get("img_size", 224)))
            report = evaluate_fold_weights(samples, Path(args.fold_weights), config, device)
            print(format_report(report, per_fold=args.per_fold))
            if report["missing_folds"]:
                print(f"no weights for {len(report['missing_folds'])} fold(s): {', '.join(report['missing_folds'])}")
            if args.json_out:
                _write_json(args.json_out, json.dumps(report, indent=2, default=_json_default))
            return 0
        print("error: give a checkpoint file, --fold-weights DIR or --run DIR (see --help)", file=sys.stderr)
        return 2
    except user_errors() as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(type(value).__name__)
