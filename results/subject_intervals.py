"""Issue 21: how far each recorded recognition figure could move with other subjects of the same kind. Each run's
saved per-clip predictions are resampled a whole subject at a time (2,000 times; ``metrics.subject_bootstrap``), and
two runs on the same clips are compared pair-wise (``metrics.paired_subject_bootstrap``: the interval of the
first's UF1 minus the second's).
usage: PYTHONPATH=. python results/subject_intervals.py > results/subject_intervals.txt"""
import pandas as pd

from frl_core.metrics import paired_subject_bootstrap, score, subject_bootstrap

CLASSES = ["negative", "positive", "surprise"]


def load(path: str, column: str = "pred") -> pd.DataFrame:
    d = pd.read_csv(path).set_index("clip").sort_index()
    for c in ("true", column):
        if not pd.api.types.is_integer_dtype(d[c]):
            d[c] = d[c].map(CLASSES.index)
    d["group"] = d["dataset"] + "/" + d["subject"].astype(str)
    return d.rename(columns={column: "p"})


runs = {
    "headline flow recipe, seed 1": load("results/megc2019_flow_loso/predictions_seed1.csv"),
    "headline flow recipe, seed 2": load("results/megc2019_flow_loso/predictions_seed2.csv"),
    "headline flow recipe, seed 3": load("results/megc2019_flow_loso/predictions_seed3.csv"),
    "shipped trunks' recipe (live clips), seed 1": load("results/megc2019_live_clips_loso/predictions_seed1.csv"),
    "shipped trunks' recipe (live clips), seed 2": load("results/megc2019_live_clips_loso/predictions_seed2.csv"),
    "shipped trunks' recipe (live clips), seed 3": load("results/megc2019_live_clips_loso/predictions_seed3.csv"),
    "nested CV 5x3 (recipe chosen without the test subjects), seed 1": load("results/nested_cv_clips/predictions_seed1.csv"),
    "nested CV 5x3, seed 2": load("results/nested_cv_clips/predictions_seed2.csv"),
    "nested CV 5x3, seed 3": load("results/nested_cv_clips/predictions_seed3.csv"),
}
print("run | pooled UF1 / UAR | 95 % by subject: UF1 | UAR")
print("---|---|---|---")
for name, d in runs.items():
    s = score(d["true"], d["p"], 3)
    b = subject_bootstrap(d["true"], d["p"], d["group"])
    print(f"{name} | {s.uf1:.4f} / {s.uar:.4f} | {b.uf1_interval[0]:.4f}-{b.uf1_interval[1]:.4f} | "
          f"{b.uar_interval[0]:.4f}-{b.uar_interval[1]:.4f}")
print()
print("pair (same clips) | UF1 first - second | 95 % by subject")
print("---|---|---")
for first, second in [("shipped trunks' recipe (live clips), seed 1", "headline flow recipe, seed 1"),
                      ("shipped trunks' recipe (live clips), seed 2", "headline flow recipe, seed 2"),
                      ("shipped trunks' recipe (live clips), seed 3", "headline flow recipe, seed 3"),
                      ("shipped trunks' recipe (live clips), seed 1", "shipped trunks' recipe (live clips), seed 2")]:
    a, b = runs[first], runs[second].loc[runs[first].index]
    assert (a["true"] == b["true"]).all()
    p = paired_subject_bootstrap(a["true"], a["p"], b["p"], a["group"])
    print(f"{first} vs {second} | {p.gap:+.4f} | {p.gap_interval[0]:+.4f} to {p.gap_interval[1]:+.4f}")
