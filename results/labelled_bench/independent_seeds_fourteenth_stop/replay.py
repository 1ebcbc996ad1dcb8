"""replay.py plus a pseudo-field tmin:N (at least N frames either side in the face mean)."""
import sys, glob, json, dataclasses
import numpy as np
import frl_core.spotting.streaming as streaming
from frl_core.spotting import SpotterConfig, StreamingSpotter
from frl_core.spotting.config import temporal_half
from frl_core.spotting.megc_metric import match_intervals

def run(path, cfg):
    z = np.load(path); meta = json.loads(str(z["meta"]))
    sp = StreamingSpotter(meta["fps"], cfg)
    ivs = []
    for i, h, f in zip(z["index"], z["has"], z["faces"]):
        ivs += sp.push(int(i), int(i) / meta["fps"], f if h else None).intervals
    ivs += sp.flush()
    pred = [(iv.onset, iv.offset) for iv in ivs]
    gt = [(o, off) for o, _, off, _ in meta["truth"]]
    m = dict(match_intervals(gt, pred))
    false = [p for k, p in enumerate(pred) if k not in set(m.values())]
    missed = [g for k, g in enumerate(gt) if k not in m]
    return len(gt), len(pred), len(m), false, missed

files = sorted(glob.glob(sys.argv[1]))
for spec in ["base="] + sys.argv[2:]:
    name, _, rest = spec.partition("=")
    kw, tmin = {}, 0
    for kv in filter(None, rest.split(",")):
        k, v = kv.split(":")
        if k == "tmin":
            tmin = int(v); continue
        kw[k] = type(getattr(SpotterConfig(), k))(float(v))
    streaming.temporal_half = (lambda s, f, t=tmin: max(t, temporal_half(s, f)))
    cfg = dataclasses.replace(SpotterConfig(), **kw)
    sets, notes = {}, []
    for p in files:
        key = "_".join(p.split("/")[-1].split("_")[:2])
        g, n, t, false, missed = run(p, cfg)
        s = sets.setdefault(key, [0, 0, 0]); s[0] += g; s[1] += n; s[2] += t
        tag = p.split("/")[-1][:-4]
        notes += [f"{tag} false {f}" for f in false] + [f"{tag} missed {m}" for m in missed]
    f1 = lambda s: 2 * s[2] / (s[0] + s[1]) if s[0] + s[1] else float("nan")
    tot = [sum(v[i] for v in sets.values()) for i in range(3)]
    print(f"{name:10s} pooled F1 {f1(tot):.4f} ({tot[2]} right of {tot[0]} true, {tot[1]} found) | " +
          "  ".join(f"{k} {f1(v):.3f}({v[2]}/{v[0]}/{v[1]})" for k, v in sorted(sets.items())), flush=True)
    if "-v" in sys.argv[0:1] or name != "base":
        pass
    print("   " + "; ".join(notes), flush=True)
