import sys, json, numpy as np
from frl_core.spotting import SpotterConfig, StreamingSpotter
for p in sys.argv[1:]:
    z = np.load(p); meta = json.loads(str(z["meta"])); fps = meta["fps"]
    sp = StreamingSpotter(fps, SpotterConfig())
    dec = {}
    thr = {}
    for i, h, f in zip(z["index"], z["has"], z["faces"]):
        st = sp.push(int(i), int(i) / fps, f if h else None)
        for j, c in st.decided: dec[j] = c; thr[j] = st.threshold
    js = np.array(sorted(dec)); cs = np.array([dec[j] for j in js]); ts = np.array([thr[j] for j in js])
    b = int(fps / 2)
    print(p.split("/")[-1], "truth", [t[:3] for t in meta["truth"]])
    print("  ", " ".join(f"{j0}:{np.nanmedian(cs[(js>=j0)&(js<j0+b)]):.2f}/{np.nanmax(ts[(js>=j0)&(js<j0+b)]):.2f}" for j0 in range(0, min(len(z['index']), int(12*fps)), b) if ((js>=j0)&(js<j0+b)).any()))
