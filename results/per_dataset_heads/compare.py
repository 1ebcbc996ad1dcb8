"""UF1 / UAR (pooled and per dataset) of the per-dataset-head runs against the shipped recipe's recorded runs.
usage (repository root): PYTHONPATH=. python results/per_dataset_heads/compare.py runs/per_dataset_heads SEED ..."""
import glob
import json
import sys

import numpy as np
import pandas as pd

from frl_core.metrics import score

C = ["negative", "positive", "surprise"]


def figures(frame: pd.DataFrame) -> str:
    def one(f):
        r = score(f["true"].map(C.index).values, f["pred"].map(C.index).values, 3)
        return f"{r.uf1:.4f} / {r.uar:.4f}"
    return f"{one(frame)} | " + "  ".join(f"{d} {one(g)}" for d, g in frame.groupby("dataset"))


run, seeds = sys.argv[1], sys.argv[2:]
for seed in seeds:
    base = pd.read_csv(f"results/megc2019_live_clips_loso/predictions_seed{seed}.csv")
    rows = []
    for path in glob.glob(f"{run}/seed_{seed}/folds/*.json"):
        rec = json.load(open(path))
        rows += [{"clip": k, "true": C[t], "pred": C[p]} for k, t, p in zip(rec["keys"], rec["y_true"], rec["y_pred"])]
    new = pd.DataFrame(rows).merge(base[["clip", "dataset"]], on="clip")
    same = base[base["clip"].isin(new["clip"])]
    print(f"seed {seed}, {len(new)} clips: shared head (recorded) {figures(same)}")
    print(f"seed {seed}, {len(new)} clips: per-dataset heads    {figures(new)}")
    changed = same.set_index("clip")["pred"].sort_index() != new.set_index("clip")["pred"].sort_index()
    print(f"  labels changed: {int(changed.sum())}")

if len(seeds) > 1:
    probs = {}
    for seed in seeds:
        for path in glob.glob(f"{run}/seed_{seed}/folds/*.json"):
            rec = json.load(open(path))
            for k, t, p in zip(rec["keys"], rec["y_true"], rec["probabilities"]):
                probs.setdefault(k, [t, []])[1].append(p)
    base = {s: pd.read_csv(f"results/megc2019_live_clips_loso/predictions_seed{s}.csv").set_index("clip") for s in seeds}
    keys = sorted(probs)
    y = np.array([probs[k][0] for k in keys])
    new = np.array([np.mean(probs[k][1], axis=0) for k in keys]).argmax(1)
    old = np.mean([base[s].loc[keys, [f"prob_{c}" for c in C]].values for s in seeds], axis=0).argmax(1)
    for name, pred in (("shared head (recorded)", old), ("per-dataset heads", new)):
        r = score(y, pred, 3)
        print(f"seeds {'+'.join(seeds)} averaged per clip, {name}: UF1 {r.uf1:.4f} / UAR {r.uar:.4f}")
