"""Replay recorded spotter input of the labelled sets under spotter variants; pooled F1 per group of files.
usage: replay_noise.py 'GLOB_A' ['GLOB_B' ...]"""
import dataclasses, glob, json, sys
import numpy as np
from frl_core.spotting import SpotterConfig, StreamingSpotter
from frl_core.spotting.megc_metric import match_intervals

def run(path, cfg):
    z = np.load(path); meta = json.loads(str(z["meta"]))
    sp = StreamingSpotter(meta["fps"], cfg); ivs = []
    for i, h, f in zip(z["index"], z["has"], z["faces"]):
        ivs += sp.push(int(i), int(i) / meta["fps"], f if h else None).intervals
    ivs += sp.flush()
    pred = [(iv.onset, iv.offset) for iv in ivs]; gt = [(o, off) for o, _, off, _ in meta["truth"]]
    return len(gt), len(pred), len(dict(match_intervals(gt, pred)))

base = SpotterConfig()
variants = {
    "shipped": base,
    "blur 1.5": dataclasses.replace(base, blur_sigma=1.5),
    "blur 2.0": dataclasses.replace(base, blur_sigma=2.0),
    "face mean 0.167 s": dataclasses.replace(base, temporal_s=0.167),
    "k 5": dataclasses.replace(base, threshold_k=5.0),
}
groups = [(g, sorted(glob.glob(g))) for g in sys.argv[1:]]
for name, cfg in variants.items():
    parts = []
    for g, files in groups:
        tot = np.zeros(3, int)
        for p in files:
            tot += run(p, cfg)
        parts.append(f"{g.split('/')[-1]} {2 * tot[2] / (tot[0] + tot[1]):.4f} ({tot[2]}/{tot[0]}, {tot[1]} spotted)")
    print(f"{name:18s} " + " | ".join(parts), flush=True)
