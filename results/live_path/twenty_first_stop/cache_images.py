"""Cache, for the 442 semi-synthetic pairs, the live path's flow image as float (shipped DGM, registration,
mirror-averaged, as Recognizer.recognize renders it), the true displacement's and the real flow image.
usage: cache_images.py [OUT.npz] (default /tmp/s21/images_f.npz); NO_EXPOSURE_MATCHING=1 registers without matching
the apex's exposure to the onset's (the code path before the eighteenth stop)."""
import os, sys
import numpy as np, time, torch
from frl_core.paths import default_data_root
from frl_core.data.megc2019 import Megc2019
from frl_core.models.inference import Recognizer
from frl_core.models.frl_dgt import render_flow_image
from frl_core.training.live_path import semi_synthetic_pair, true_flow_image
if os.environ.get("NO_EXPOSURE_MATCHING"):
    import frl_core.motion.registration as registration
    registration.match_exposure = lambda reference, moving: (moving, 1.0)
ds = Megc2019(default_data_root())
live = Recognizer.from_checkpoint("assets/weights/frl_dgt_live.pt", "cpu")
N = len(ds.clips)
dgm = []
with torch.inference_mode():
    for s in range(0, N, 32):
        pairs = [semi_synthetic_pair(ds.apexes[i], ds.flows[i]) for i in range(s, min(N, s + 32))]
        chunk = [live._registered(o, a) for o, a in pairs]
        on = torch.from_numpy(np.stack([live.preprocess(o) for o, _, _, _ in chunk])[:, None])
        ap = torch.from_numpy(np.stack([live.preprocess(r) for _, r, _, _ in chunk])[:, None])
        d, _ = live.model.dgm(on, ap)
        dgm.append(render_flow_image(d, 28).float().numpy())
dgm = np.concatenate(dgm)
true = np.stack([true_flow_image(ds.flows[i]) for i in range(N)])
np.savez_compressed(sys.argv[1] if len(sys.argv) > 1 else "/tmp/s21/images_f.npz", dgm=dgm, true=true.transpose(0, 3, 1, 2) / 255.0,
                    real=ds.flows.transpose(0, 3, 1, 2) / 255.0, labels=np.asarray(ds.labels),
                    subjects=np.asarray(ds.subjects), datasets=np.asarray([c.dataset for c in ds.clips]))
print(dgm.shape, dgm.min(), dgm.max())
