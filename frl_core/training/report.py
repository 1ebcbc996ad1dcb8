"""Human-readable summaries of LOSO reports for the terminal."""

from __future__ import annotations

from typing import Any


def format_confusion(confusion: list[list[int]], class_names: list[str]) -> str:
    width = max(10, *(len(c) + 2 for c in class_names))
    head = "true \\ pred".ljust(width) + "".join(c.rjust(width) for c in class_names)
    rows = [name.ljust(width) + "".join(str(v).rjust(width) for v in row) for name, row in zip(class_names, confusion)]
    return "\n".join([head, *rows])


def format_report(report: dict[str, Any], per_fold: bool = False) -> str:
    """Pooled UF1/UAR, the per-dataset breakdown and the confusion matrix of one LOSO report."""
    p = report["pooled"]
    label = " [SEMI-SYNTHETIC pairs]" if report.get("semi_synthetic") else ""
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
