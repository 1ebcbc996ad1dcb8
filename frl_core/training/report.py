"""LOSO reports: pooled and per-dataset figures from the folds' predictions, seeds combined, and their
human-readable form for the terminal."""

from __future__ import annotations

from typing import Any

import numpy as np

from frl_core.metrics import score
from frl_core.training.samples import SampleSet


def format_confusion(confusion: list[list[int]], class_names: list[str]) -> str:
    width = max(10, *(len(c) + 2 for c in class_names))
    head = "true \\ pred".ljust(width) + "".join(c.rjust(width) for c in class_names)
    rows = [name.ljust(width) + "".join(str(v).rjust(width) for v in row) for name, row in zip(class_names, confusion)]
    return "\n".join([head, *rows])


def format_report(report: dict[str, Any], per_fold: bool = False) -> str:
    """Pooled UF1/UAR, the per-dataset breakdown and the confusion matrix of one LOSO report."""
    p = report["pooled"]
    label = " [SEMI-SYNTHETIC pairs]" if report.get("semi_synthetic") else ""
    label += "  one dataset held out a fold" if report.get("hold_out") == "dataset" else ""
    lines = [
        f"protocol {report.get('protocol')}  mode {report.get('input_mode')}{label}  seed {report.get('seed')}  "
        f"folds {report.get('folds_done')}",
        f"pooled      UF1 {p['uf1']:.4f}  UAR {p['uar']:.4f}  acc {p['accuracy']:.4f}  (n={p['n']})",
    ]
    for name, s in report.get("per_dataset", {}).items():
        lines.append(f"  {name:<9} UF1 {s['uf1']:.4f}  UAR {s['uar']:.4f}  acc {s['accuracy']:.4f}  (n={s['n']})")
    lines.append(format_confusion(p["confusion"], report["class_names"]))
    if per_fold:
        lines.append("per fold:")
        for f in report.get("per_fold", []):
            lines.append(f"  {f['subject']:<6} n={f['n']:<3} UF1 {f['uf1']:.3f} UAR {f['uar']:.3f} acc {f['accuracy']:.3f}")
    if "train_seconds_all_folds" in report:
        lines.append(f"training time over these folds: {report['train_seconds_all_folds']:.1f} s")
    return "\n".join(lines)


def format_seed_summary(summary: dict[str, Any], semi_synthetic: bool) -> str:
    label = " [SEMI-SYNTHETIC pairs]" if semi_synthetic else ""
    lines = [f"over seeds {summary['seeds']}{label}:"]
    for m in ("uf1", "uar", "accuracy"):
        s = summary[m]
        lines.append(f"  {m.upper():<8} mean {s['mean']:.4f}  std {s['std']:.4f}  min {s['min']:.4f}  max {s['max']:.4f}")
    for name, d in summary["per_dataset"].items():
        lines.append(f"  {name:<9} UF1 {d['uf1']['mean']:.4f} ± {d['uf1']['std']:.4f}  "
                     f"UAR {d['uar']['mean']:.4f} ± {d['uar']['std']:.4f}")
    return "\n".join(lines)


def summarise(samples: SampleSet, fold_records: list[dict[str, Any]]) -> dict[str, Any]:
    """Pooled UF1/UAR over all finished folds, the per-dataset breakdown and per-fold figures."""
    num_classes = len(samples.class_names)
    idx = (np.concatenate([np.asarray(r["indices"], dtype=np.int64) for r in fold_records]) if fold_records
           else np.zeros(0, np.int64))
    y_true = np.concatenate([np.asarray(r["y_true"], dtype=np.int64) for r in fold_records]) if fold_records else idx
    y_pred = np.concatenate([np.asarray(r["y_pred"], dtype=np.int64) for r in fold_records]) if fold_records else idx
    pooled = score(y_true, y_pred, num_classes)
    datasets = np.asarray(samples.datasets)[idx] if len(idx) else np.asarray([])
    per_dataset = {}
    for name in dict.fromkeys(samples.datasets):
        mask = datasets == name
        if mask.any():
            per_dataset[name] = score(y_true[mask], y_pred[mask], num_classes).as_dict()
    per_fold = []
    for r in fold_records:
        s = score(r["y_true"], r["y_pred"], num_classes)
        per_fold.append({
            "subject": r["subject"], "n": s.n, "uf1": s.uf1, "uar": s.uar, "accuracy": s.accuracy,
            "train_seconds": r.get("train_seconds"),
        })
    out = {
        "class_names": list(samples.class_names),
        "pooled": pooled.as_dict(),
        "per_dataset": per_dataset,
        "per_fold": per_fold,
        "folds_done": len(fold_records),
    }
    calibrated = [r for r in fold_records if "calibrated_probabilities" in r]
    if calibrated and len(calibrated) == len(fold_records):
        out["calibration"] = calibration_summary(fold_records)
    return out


PREDICTION_COLUMNS = ("seed", "fold", "subject", "dataset", "clip", "true", "pred")
"""The fixed columns of ``predictions.csv``; one ``prob_<class>`` column per class follows (and
``calibrated_<class>`` when the run calibrates). Everything a reader needs to recompute the figures."""


def prediction_rows(samples: SampleSet, fold_records: list[dict[str, Any]], seed: int,
                    epoch: int | None = None) -> list[dict[str, Any]]:
    """One row per held-out clip: who, which dataset, its true and predicted class and the probabilities."""
    names = list(samples.class_names)
    rows = []
    for r in fold_records:
        calibrated = r.get("calibrated_probabilities")
        for k, (i, y, yp, probs) in enumerate(zip(r["indices"], r["y_true"], r["y_pred"], r["probabilities"])):
            row: dict[str, Any] = {"seed": seed, "fold": r["subject"], "subject": samples.subjects[i],
                                   "dataset": samples.datasets[i], "clip": samples.keys[i],
                                   "true": names[int(y)], "pred": names[int(yp)]}
            if epoch is not None:
                row = {"epoch": epoch, **row}
            row.update({f"prob_{c}": round(float(p), 5) for c, p in zip(names, probs)})
            if calibrated is not None:
                row.update({f"calibrated_{c}": round(float(p), 5) for c, p in zip(names, calibrated[k])})
            rows.append(row)
    return rows


def write_predictions(path, rows: list[dict[str, Any]]) -> None:
    """``predictions.csv`` (or ``.csv.gz``): the rows of :func:`prediction_rows`, written atomically."""
    import gzip
    from pathlib import Path

    import pandas as pd

    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    frame = pd.DataFrame(rows)
    if path.suffix == ".gz":
        with gzip.open(tmp, "wt", newline="") as fh:
            frame.to_csv(fh, index=False)
    else:
        frame.to_csv(tmp, index=False)
    tmp.replace(path)


def calibration_summary(fold_records: list[dict[str, Any]]) -> dict[str, Any]:
    """Pooled ECE before and after calibration, reliability table and how the uncertain outcome splits
    the test predictions (each fold's own threshold)."""
    from frl_core.training.calibration import ece_if_calibrated, expected_calibration_error, selective_summary

    y = np.concatenate([np.asarray(r["y_true"], dtype=np.int64) for r in fold_records])
    raw = np.concatenate([np.asarray(r["probabilities"], dtype=np.float64) for r in fold_records])
    cal = np.concatenate([np.asarray(r["calibrated_probabilities"], dtype=np.float64) for r in fold_records])
    thresholds = np.concatenate([np.full(len(r["y_true"]), r["calibration"]["uncertain_below"]) for r in fold_records])
    temps = [r["calibration"]["temperature"] for r in fold_records]
    ece_raw, _ = expected_calibration_error(raw, y)
    ece_cal, table = expected_calibration_error(cal, y)
    return {"ece_uncalibrated": ece_raw, "ece_calibrated": ece_cal, "ece_if_calibrated": ece_if_calibrated(cal),
            "reliability": table,
            "temperature": {"median": float(np.median(temps)), "min": float(min(temps)), "max": float(max(temps))},
            "uncertain_below": {"median": float(np.median(thresholds)), "min": float(thresholds.min()),
                                "max": float(thresholds.max())},
            "uncertain": selective_summary(cal, y, thresholds)}


def format_calibration(cal: dict[str, Any]) -> str:
    """One calibration (a seed's or the seeds' as an ensemble) as two lines: ECE, temperature, uncertain."""
    seeds = cal.get("seeds") or []
    who = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {'+'.join(str(s) for s in seeds)} as one ensemble"
    temps = cal["temperature"]
    temps = temps if isinstance(temps, list) else [temps]
    medians = " / ".join(f"{t['median']:.3f}" for t in temps)
    u = cal["uncertain"]
    floor = cal.get("ece_if_calibrated")
    floor_text = ("" if not floor else f" (perfectly calibrated, these confidences on these clips would show "
                                       f"{floor['mean']:.4f} on average, 95 % under {floor['p95']:.4f})")
    return (f"calibration, {who} ({cal.get('method', 'in-fold')}): ECE {cal['ece_uncalibrated']:.4f} -> "
            f"{cal['ece_calibrated']:.4f}{floor_text}, temperature median "
            f"{medians}\n"
            f"  uncertain below {cal['uncertain_below']['median']:.3f} (median): {u['coverage']:.1%} labelled, "
            f"accuracy {u['accuracy_confident']:.3f} of those, {u['accuracy_uncertain']:.3f} of the uncertain "
            f"({u['accuracy_all']:.3f} overall)")


def combine_seeds(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and spread (sample std, min, max) of pooled and per-dataset UF1/UAR over seeds."""
    def stats(values: list[float]) -> dict[str, float]:
        a = np.asarray(values, dtype=np.float64)
        return {"mean": float(a.mean()), "std": float(a.std(ddof=1)) if a.size > 1 else 0.0,
                "min": float(a.min()), "max": float(a.max())}

    out: dict[str, Any] = {"seeds": [r["seed"] for r in reports]}
    for metric in ("uf1", "uar", "accuracy"):
        out[metric] = stats([r["pooled"][metric] for r in reports])
    out["per_dataset"] = {
        name: {m: stats([r["per_dataset"][name][m] for r in reports]) for m in ("uf1", "uar")}
        for name in reports[0]["per_dataset"]
    }
    return out
