"""Spotting F1 of recorded labelled sets before and after leaving out intervals across an exposure step: the gate
is a filter on the engine's events (the spotter does not see it), so applying it to the recorded events and faces
gives what the engine gives. usage: gate_f1.py LIMIT 'GLOB' ..."""
import collections, glob, json, sys
import cv2
import numpy as np
from frl_core.motion.registration import exposure_gain
from frl_core.spotting.megc_metric import match_intervals
limit = float(sys.argv[1])
acc = collections.defaultdict(lambda: np.zeros(5, int))  # truth, found, tp, found after, tp after
for path in sorted(sum((glob.glob(p) for p in sys.argv[2:]), [])):
    z = np.load(path); meta = json.loads(str(z["meta"]))
    pos = {int(i): k for k, i in enumerate(z["index"])}
    truth = [(t[0], t[2]) for t in meta["truth"]]
    events = meta["engine"]
    kept = [e for e in events if abs(exposure_gain(z["faces"][pos[e[0]]], z["faces"][pos[e[1]]]) - 1) <= limit]
    name = path.split("/")[-1].split("_")
    key = f"{name[0]} {name[1]}"
    m0 = len(match_intervals(truth, [(e[0], e[2]) for e in events])); m1 = len(match_intervals(truth, [(e[0], e[2]) for e in kept]))
    acc[key] += [len(truth), len(events), m0, len(kept), m1]
f1 = lambda t, f, m: 2 * m / (t + f) if t + f else float("nan")
tot = np.zeros(5, int)
for key, (t, f, m, fk, mk) in sorted(acc.items()):
    tot += [t, f, m, fk, mk]
    print(f"{key:16s} F1 {f1(t, f, m):.3f} ({m} right of {f}) -> {f1(t, fk, mk):.3f} ({mk} right of {fk})")
t, f, m, fk, mk = tot
print(f"{'pooled':16s} F1 {f1(t, f, m):.4f} -> {f1(t, fk, mk):.4f}  ({t} movements)")
