"""Per engine event of recorded labelled sets (record_labelled.py recordings): matched to a true movement (TP) or
not (FP), the exposure gain between its onset and apex faces (motion.registration.exposure_gain, as the
engine measures it), and the share of the interior at 250 or above in each. usage: gains_of_events.py GLOB ..."""
import glob, json, sys
import numpy as np
from frl_core.motion.registration import exposure_gain
from frl_core.spotting.megc_metric import match_intervals
from frl_core.spotting.motion import interior_slices
rows = []
for path in sorted(sum((glob.glob(p) for p in sys.argv[1:]), [])):
    z = np.load(path); meta = json.loads(str(z["meta"]))
    pos = {int(i): k for k, i in enumerate(z["index"])}
    truth = [(t[0], t[2]) for t in meta["truth"]]
    pred = [(e[0], e[2]) for e in meta["engine"]]
    matched = {p for _, p in match_intervals(truth, pred)} if pred else set()
    box = interior_slices(224, 224)
    for k, e in enumerate(meta["engine"]):
        o, a, off, label = e[0], e[1], e[2], (e[3] if len(e) > 3 else "")
        fo, fa = z["faces"][pos[o]][box].astype(np.float64), z["faces"][pos[a]][box].astype(np.float64)
        gain = exposure_gain(z["faces"][pos[o]], z["faces"][pos[a]])
        rows.append((path.split("/")[-1][:-4], o, a, off, label, k in matched, gain, (fo >= 250).mean(), (fa >= 250).mean()))
for r in rows:
    print(f"{r[0]:38s} {r[1]:4d}-{r[2]:4d}-{r[3]:4d} {r[4]:9s} {'TP' if r[5] else 'FP'} gain {r[6]:.3f} clip {100*r[7]:.2f}% -> {100*r[8]:.2f}%")
