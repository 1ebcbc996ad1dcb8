"""The MEGC2020/2021 spotting metric: interval IoU matching, pooled precision/recall/F1, apex error.

A spotted interval is a true positive when its intersection over union with a ground-truth interval of
the same kind (frames counted inclusively: ``[onset, offset]`` has ``offset - onset + 1`` frames) is
at least 0.5. As in the MEGC scripts, the true positives are the ground-truth intervals hit by at
least one prediction (a prediction spanning two close ground-truth intervals can hit both; the
one-to-one ``match_intervals`` serves apex errors). Predictions are first filtered by
length (CAS(ME)^2 at 30 fps: micro 7-16 frames, macro 17+; SAMM at 200 fps: micro 47-105, macro 106+).
Precision and recall pool the counts over every video of a set; the overall figure pools micro and
macro counts.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

Interval = tuple[int, int]


class MetricInputError(ValueError):
    """A ground-truth or prediction file that cannot be read."""


@dataclass(frozen=True)
class LengthFilter:
    """Inclusive length bounds (frames) a prediction must satisfy to count for a kind."""

    min_len: int
    max_len: int | None = None

    def accepts(self, interval: Interval) -> bool:
        n = interval_length(interval)
        return n >= self.min_len and (self.max_len is None or n <= self.max_len)


LENGTH_FILTERS: dict[str, dict[str, LengthFilter]] = {
    "casme2": {"micro": LengthFilter(7, 16), "macro": LengthFilter(17, None)},
    "samm": {"micro": LengthFilter(47, 105), "macro": LengthFilter(106, None)},
}
"""The MEGC length filters (micro / macro) of CAS(ME)^2 long videos and SAMM long videos."""


def interval_length(interval: Interval) -> int:
    return int(interval[1]) - int(interval[0]) + 1


def interval_iou(a: Interval, b: Interval) -> float:
    """IoU of two inclusive frame intervals."""
    inter = min(a[1], b[1]) - max(a[0], b[0]) + 1
    if inter <= 0:
        return 0.0
    union = interval_length(a) + interval_length(b) - inter
    return inter / union


def match_intervals(ground_truth: Sequence[Interval], predicted: Sequence[Interval],
                    iou: float = 0.5) -> list[tuple[int, int]]:
    """One-to-one matches ``(gt_index, pred_index)`` with IoU >= ``iou``, best overlaps first."""
    pairs = []
    for g, gt in enumerate(ground_truth):
        for p, pred in enumerate(predicted):
            v = interval_iou(gt, pred)
            if v >= iou:
                pairs.append((v, g, p))
    pairs.sort(key=lambda x: -x[0])
    used_g: set[int] = set()
    used_p: set[int] = set()
    out = []
    for _, g, p in pairs:
        if g not in used_g and p not in used_p:
            used_g.add(g)
            used_p.add(p)
            out.append((g, p))
    return sorted(out)


@dataclass
class SpottingCounts:
    """Pooled counts and the scores they give."""

    true_positives: int = 0
    predicted: int = 0
    ground_truth: int = 0

    def __add__(self, other: "SpottingCounts") -> "SpottingCounts":
        return SpottingCounts(self.true_positives + other.true_positives, self.predicted + other.predicted,
                              self.ground_truth + other.ground_truth)

    @property
    def precision(self) -> float:
        return self.true_positives / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.ground_truth if self.ground_truth else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r > 0 else 0.0


def count_hits(ground_truth: Sequence[Interval], predicted: Sequence[Interval], iou: float = 0.5) -> int:
    """Ground-truth intervals with IoU >= ``iou`` against at least one prediction (MEGC's true positives)."""
    return sum(any(interval_iou(g, p) >= iou for p in predicted) for g in ground_truth)


def evaluate_videos(ground_truth: dict[str, list[Interval]], predicted: dict[str, list[Interval]],
                    length_filter: LengthFilter | None = None, iou: float = 0.5) -> SpottingCounts:
    """Pooled counts over videos (keys: video ids); predictions outside ``length_filter`` are dropped."""
    counts = SpottingCounts()
    for video in set(ground_truth) | set(predicted):
        gt = list(ground_truth.get(video, []))
        pred = [p for p in predicted.get(video, []) if length_filter is None or length_filter.accepts(p)]
        counts = counts + SpottingCounts(count_hits(gt, pred, iou), len(pred), len(gt))
    return counts


@dataclass
class MegcResult:
    micro: SpottingCounts
    macro: SpottingCounts

    @property
    def overall(self) -> SpottingCounts:
        return self.micro + self.macro


def evaluate_megc(ground_truth: dict[str, dict[str, list[Interval]]], predicted: dict[str, dict[str, list[Interval]]],
                  dataset: str, iou: float = 0.5) -> MegcResult:
    """Micro, macro and overall scores; both dicts are ``{"micro"|"macro": {video: intervals}}``."""
    if dataset not in LENGTH_FILTERS:
        raise MetricInputError(f"unknown dataset {dataset!r}; known: {sorted(LENGTH_FILTERS)}")
    filters = LENGTH_FILTERS[dataset]
    return MegcResult(
        micro=evaluate_videos(ground_truth.get("micro", {}), predicted.get("micro", {}), filters["micro"], iou),
        macro=evaluate_videos(ground_truth.get("macro", {}), predicted.get("macro", {}), filters["macro"], iou),
    )


def apex_errors(ground_truth: Sequence[tuple[int, int, int]], predicted: Sequence[tuple[int, int, int]],
                iou: float = 0.5) -> list[int]:
    """|predicted apex - true apex| in frames for every matched pair of ``(onset, apex, offset)`` triples."""
    matches = match_intervals([(g[0], g[2]) for g in ground_truth], [(p[0], p[2]) for p in predicted], iou)
    return [abs(int(predicted[p][1]) - int(ground_truth[g][1])) for g, p in matches]


# -- the MEGC2020 MDMD baseline's file layout -------------------------------------------------------

def _kind_of(text: str) -> str:
    t = text.lower()
    if t.startswith("micro"):
        return "micro"
    if t.startswith("macro"):
        return "macro"
    raise MetricInputError(f"unknown expression type {text!r}")


def read_ground_truth_info(path: str | Path) -> dict[str, dict[str, list[Interval]]]:
    """``all_Info.txt``: ``subject video type onset apex offset`` -> ``{kind: {"subject_video": [(onset, offset)]}}``.

    An offset of 0 (not coded) falls back to the apex, as the MEGC scripts do.
    """
    out: dict[str, dict[str, list[Interval]]] = {"micro": defaultdict(list), "macro": defaultdict(list)}
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise MetricInputError(f"cannot read ground truth {path}: {err.strerror}") from err
    for n, line in enumerate(lines, 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 6:
            raise MetricInputError(f"{path.name} line {n}: expected 'subject video type onset apex offset'")
        onset, apex, offset = (int(round(float(x))) for x in parts[3:6])
        if offset <= 0:
            offset = apex
        if onset <= 0:
            onset = apex
        out[_kind_of(parts[2])][f"{parts[0]}_{parts[1]}"].append((onset, offset))
    return {k: dict(v) for k, v in out.items()}


def read_prediction_folder(folder: str | Path) -> dict[str, list[Interval]]:
    """One ``<video>.txt`` per video with ``start end score`` lines -> ``{video: [(start, end)]}``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise MetricInputError(f"prediction folder not found: {folder}")
    out: dict[str, list[Interval]] = {}
    for f in sorted(folder.glob("*.txt")):
        rows = []
        for line in f.read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if parts:
                rows.append((int(round(float(parts[0]))), int(round(float(parts[1])))))
        out[f.stem] = rows
    return out


def evaluate_mdmd_baseline(root: str | Path, dataset: str) -> MegcResult:
    """Score the MEGC2020 MDMD baseline's predictions in ``root`` (``mdmd_megc2020``) on one dataset."""
    root = Path(root)
    names = {"casme2": ("casme2_long", "ME2"), "samm": ("samm_long", "SAMM_MEGC")}
    if dataset not in names:
        raise MetricInputError(f"unknown dataset {dataset!r}; known: {sorted(names)}")
    gt_dir, prefix = names[dataset]
    gt = read_ground_truth_info(root / "ground_truth" / gt_dir / "all_Info.txt")
    pred = {kind: read_prediction_folder(root / "predictions" / f"{prefix}_{kind}_txtClips" / "p1")
            for kind in ("micro", "macro")}
    return evaluate_megc(gt, pred, dataset)


def format_result(result: MegcResult, name: str = "") -> str:
    def one(c: SpottingCounts) -> str:
        return (f"TP {c.true_positives} / pred {c.predicted} / GT {c.ground_truth}: "
                f"P {c.precision:.4f} R {c.recall:.4f} F1 {c.f1:.4f}")

    head = f"{name}: " if name else ""
    return (f"{head}micro {one(result.micro)}\n{' ' * len(head)}macro {one(result.macro)}\n"
            f"{' ' * len(head)}overall {one(result.overall)}")


def median(values: Iterable[float]) -> float:
    v = sorted(values)
    if not v:
        return math.nan
    mid = len(v) // 2
    return float(v[mid]) if len(v) % 2 else 0.5 * (v[mid - 1] + v[mid])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``python main.py megc-metric``: score the MDMD baseline on both long-video sets."""
    from frl_core.paths import default_data_root

    parser.add_argument("--root", type=Path, default=default_data_root() / "spotting" / "mdmd_megc2020")


def run(args: argparse.Namespace) -> int:
    try:
        for dataset in ("casme2", "samm"):
            print(format_result(evaluate_mdmd_baseline(args.root, dataset), dataset))
    except MetricInputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0

