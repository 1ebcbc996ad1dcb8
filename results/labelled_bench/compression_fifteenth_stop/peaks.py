import sys, json, glob, dataclasses
import numpy as np
from frl_core.spotting import SpotterConfig, StreamingSpotter
cfg = SpotterConfig()
for kv in sys.argv[2:]:
    k, v = kv.split(":"); cfg = dataclasses.replace(cfg, **{k: type(getattr(cfg, k))(float(v))})
for p in sorted(glob.glob(sys.argv[1])):
    z = np.load(p); meta = json.loads(str(z["meta"])); fps = meta["fps"]
    sp = StreamingSpotter(fps, cfg); dec = {}; thr = {}
    for i, h, f in zip(z["index"], z["has"], z["faces"]):
        st = sp.push(int(i), int(i) / fps, f if h else None)
        for j, c in st.decided: dec[j] = c; thr[j] = st.threshold
    out = []
    for o, a, off, lab in meta["truth"]:
        js = [j for j in range(o, off + 1) if j in dec and np.isfinite(dec[j])]
        if not js: out.append(f"{o}:noface"); continue
        jm = max(js, key=lambda j: dec[j])
        out.append(f"{o}:{dec[jm]:.2f}/{thr[jm]:.2f}")
    print(p.split("/")[-1][:-4], " ".join(out))
