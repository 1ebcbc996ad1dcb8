"""Replay with a blur per face (what a spotter sized by the stream's first face would use)."""
import dataclasses, glob, json, sys
import numpy as np
from frl_core.spotting import SpotterConfig, StreamingSpotter
from frl_core.spotting.megc_metric import match_intervals

UPS = {"astronaut": 2.47, "casme2_sub03": 1.50, "casme2_sub08": 1.48, "samm_009": 1.70, "smic_s04": 1.53}

def run(path, cfg):
    z = np.load(path); meta = json.loads(str(z["meta"]))
    sp = StreamingSpotter(meta["fps"], cfg); ivs = []
    for i, h, f in zip(z["index"], z["has"], z["faces"]):
        ivs += sp.push(int(i), int(i) / meta["fps"], f if h else None).intervals
    ivs += sp.flush()
    pred = [(iv.onset, iv.offset) for iv in ivs]; gt = [(o, off) for o, _, off, _ in meta["truth"]]
    m = dict(match_intervals(gt, pred))
    return len(gt), len(pred), len(m)

files = sorted(glob.glob(sys.argv[1]))
for name, fn in [("base", lambda u: 1.0), ("min(u,2)", lambda u: min(u, 2.0)), ("min(u,1.75)", lambda u: min(u, 1.75)),
                 ("1.5 flat", lambda u: 1.5), ("min(u,1.5)", lambda u: min(u, 1.5))]:
    sets = {}
    for p in files:
        face = next(k for k in UPS if k in p)
        cfg = dataclasses.replace(SpotterConfig(), blur_sigma=fn(UPS[face]))
        g, n, t = run(p, cfg)
        key = "_".join(p.split("/")[-1].split("_")[:2]); s = sets.setdefault(key, [0, 0, 0])
        s[0] += g; s[1] += n; s[2] += t
        fs = sets.setdefault(face, [0, 0, 0]); fs[0] += g; fs[1] += n; fs[2] += t
    f1 = lambda s: 2 * s[2] / (s[0] + s[1])
    keys = [k for k in sets if k.startswith("s05")]
    tot = [sum(sets[k][i] for k in keys) for i in range(3)]
    print(f"{name:12s} pooled {f1(tot):.4f} | " + "  ".join(f"{k} {f1(sets[k]):.3f}" for k in sorted(sets)), flush=True)
