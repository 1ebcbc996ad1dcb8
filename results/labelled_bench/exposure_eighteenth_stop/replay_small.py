"""Replay small-face recordings (spotted with the small-face blur) through spotter variants applied on top."""
import dataclasses, glob, json, sys
from concurrent.futures import ProcessPoolExecutor
import numpy as np
from frl_core.spotting import SpotterConfig, StreamingSpotter
from frl_core.spotting.megc_metric import match_intervals

def run(args):
    path, kw, small = args
    z = np.load(path); meta = json.loads(str(z["meta"]))
    base = SpotterConfig()
    cfg = dataclasses.replace(base, **{**({"blur_sigma": base.blur_sigma * base.small_face_blur} if small else {}), **kw})
    sp = StreamingSpotter(meta["fps"], cfg); ivs = []
    for i, h, f in zip(z["index"], z["has"], z["faces"]):
        ivs += sp.push(int(i), int(i) / meta["fps"], f if h else None).intervals
    ivs += sp.flush()
    pred = [(iv.onset, iv.offset) for iv in ivs]; gt = [(o, off) for o, _, off, _ in meta["truth"]]
    return path, len(gt), len(pred), len(dict(match_intervals(gt, pred)))

def parse(spec):
    name, _, rest = spec.partition("=")
    kw = {}
    for kv in filter(None, rest.split(",")):
        k, v = kv.split(":")
        d = getattr(SpotterConfig(), k)
        kw[k] = type(d)(float(v)) if d is not None else float(v)
    return name, kw

groups = {}
for g in sys.argv[1].split(","):
    gname, _, pattern = g.partition("=")
    groups[gname] = sorted(glob.glob(pattern))
variants = [("base", {})] + [parse(s) for s in sys.argv[2:]]
with ProcessPoolExecutor(2) as ex:
    for name, kw in variants:
        res = list(ex.map(run, [(p, kw, g.startswith(("half", "third"))) for g, ps in groups.items() for p in ps]))
        byp = {r[0]: r[1:] for r in res}
        f1 = lambda s: 2 * s[2] / (s[0] + s[1]) if s[0] + s[1] else float("nan")
        parts, tot = [], [0, 0, 0]
        for gname, ps in groups.items():
            s = [sum(byp[p][i] for p in ps) for i in range(3)]
            tot = [a + b for a, b in zip(tot, s)]
            parts.append(f"{gname} {f1(s):.3f}({s[2]}/{s[0]}/{s[1]})")
        print(f"{name:14s} pooled {f1(tot):.4f} | " + "  ".join(parts), flush=True)
