"""Replay recorded spotter inputs through StreamingSpotter variants; F1 (IoU 0.5) per set and pooled.
usage: replay.py GLOB [variant ...]   variants: name=key:value,key:value (SpotterConfig fields)"""
import sys, glob, json, math, dataclasses
import numpy as np
from frl_core.spotting import SpotterConfig, StreamingSpotter
from frl_core.spotting.megc_metric import match_intervals

def truth_of(meta):
    if meta.get("truth_json"):
        d = json.load(open("/work/main/assets/demo/demo_ground_truth.json"))
        s = meta["fps"]
        return [(int(round(e["onset_time"] * s)), int(round(e["offset_time"] * s))) for e in d["events"]]
    return [(o, off) for o, _, off, _ in meta["truth"]]

def run(path, cfg):
    z = np.load(path); meta = json.loads(str(z["meta"]))
    sp = StreamingSpotter(meta["fps"], cfg)
    ivs = []
    for i, h, f in zip(z["index"], z["has"], z["faces"]):
        ivs += sp.push(int(i), int(i) / meta["fps"], f if h else None).intervals
    ivs += sp.flush()
    pred = [(iv.onset, iv.offset) for iv in ivs]
    gt = truth_of(meta)
    m = dict(match_intervals(gt, pred))
    return len(gt), len(pred), len(m), pred, gt, meta

def parse(spec):
    name, _, rest = spec.partition("=")
    kw = {}
    for kv in filter(None, rest.split(",")):
        k, v = kv.split(":")
        kw[k] = type(getattr(SpotterConfig(), k))(float(v)) if getattr(SpotterConfig(), k) is not None else float(v)
    return name, kw

files = sorted(glob.glob(sys.argv[1]))
variants = [("base", {})] + [parse(s) for s in sys.argv[2:]]
for name, kw in variants:
    cfg = dataclasses.replace(SpotterConfig(), **kw)
    sets = {}
    extra = []
    for p in files:
        key = p.split("/")[-1].rsplit("_", 2)[0] if not p.split("/")[-1].startswith("demo_") else "demo"
        g, n, t, pred, gt, meta = run(p, cfg)
        s = sets.setdefault(key, [0, 0, 0])
        s[0] += g; s[1] += n; s[2] += t
        if name == "base" and meta.get("engine") is not None:
            eng = [(a, c) for a, _, c in meta["engine"]]
            if sorted(eng) != sorted(pred):
                extra.append(f"  replay differs from engine on {p.split('/')[-1]}: {pred} vs {eng}")
    f1 = lambda s: 2 * s[2] / (s[0] + s[1]) if s[0] + s[1] else float('nan')
    tot = [sum(v[i] for v in sets.values()) for i in range(3)]
    print(f"{name:12s} pooled F1 {f1(tot):.4f} ({tot[2]} right of {tot[0]} true, {tot[1]} found) | " +
          "  ".join(f"{k} {f1(v):.3f}({v[2]}/{v[0]}/{v[1]})" for k, v in sorted(sets.items())), flush=True)
    for line in extra[:5]:
        print(line)
