"""Interval F1 (MEGC IoU >= 0.5) and label accuracy of the spotted ("uncertain" counts as not right) from the
engine's own events in record_other_faces.py's recordings, per codec and dataset, and each face's misses and
false intervals.  usage: score_other_faces.py 'GLOB'"""
import glob
import json
import sys
from collections import defaultdict

import numpy as np

from frl_core.spotting.megc_metric import match_intervals

tot = defaultdict(lambda: [0, 0, 0, 0, 0])  # truth, found, right, label right, uncertain
for path in sorted(glob.glob(sys.argv[1])):
    meta = json.loads(str(np.load(path)["meta"]))
    name = path.rsplit("/", 1)[-1][:-4]
    codec, dataset = name.split("_")[1], name.split("_")[2]
    truth = meta["truth"]
    found = [list(e) + [None] * (4 - len(e)) for e in meta["engine"]]  # record_labelled.py keeps no labels
    pairs = match_intervals([(t[0], t[2]) for t in truth], [(e[0], e[2]) for e in found])
    labels = sum(found[p][3] == truth[g][3] for g, p in pairs)
    unsure = sum(found[p][3] == "uncertain" for g, p in pairs)
    for key in (codec, f"{codec} {dataset}"):
        for i, v in enumerate((len(truth), len(found), len(pairs), labels, unsure)):
            tot[key][i] += v
    matched_t, matched_p = {g for g, _ in pairs}, {p for _, p in pairs}
    missed = [tuple(t[:3]) for k, t in enumerate(truth) if k not in matched_t]
    false = [tuple(e[:3]) for k, e in enumerate(found) if k not in matched_p]
    wrong = [(truth[g][3], found[p][3]) for g, p in pairs if found[p][3] not in (truth[g][3], None)]
    if missed or false or wrong:
        print(f"{name}: missed {missed} false {false} labels (truth, shown) {wrong}")
for key, (n, f, tp, lab, uns) in sorted(tot.items()):
    f1 = 2 * tp / (n + f) if n + f else float("nan")
    print(f"{key:14s} F1 {f1:.3f} ({tp} right of {n}, {f} found)" + (f"  labels of the spotted {lab / tp:.3f}"
          f" ({lab}/{tp}, {uns} uncertain)" if lab else ""))
