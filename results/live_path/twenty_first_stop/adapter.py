"""Per LOSO fold: the fold's two trunks on (a) the composite's real flow image (flow mode), (b) the live path's
DGM image, (c) the true displacement's image, (d) the DGM image through an adapter trained on the fold's
training subjects. Agreement with flow mode and UF1."""
import json, sys, time
from pathlib import Path
import numpy as np, torch
import torch.nn as nn, torch.nn.functional as F
from frl_core.models.checkpoint import load_checkpoint
from frl_core.models.frl_dgt import mirror_flow_image
from frl_core.metrics import score
torch.set_num_threads(1)
import os; z = np.load(os.environ.get("IMAGES", "/tmp/s21/images_f.npz"))
dgm, true, real, y = z["dgm"], z["true"], z["real"], z["labels"]
subjects = z["subjects"]
runs = [Path("runs/live_clips_nocal/seed_1"), Path("runs/live_clips_nocal/seed_2")]
def t(img): return torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32))
def probs(trunks, x):
    out = []
    with torch.no_grad():
        for tr in trunks:
            a, b = tr(x), tr(mirror_flow_image(x))
            out.append((F.softmax(a, 1) + F.softmax(b, 1)).numpy() / 2)
    return np.mean(out, 0)
def minmax(x):
    lo = x.amin((2, 3), keepdim=True); hi = x.amax((2, 3), keepdim=True)
    return (x - lo) / (hi - lo).clamp_min(1e-6)

class Adapter(nn.Module):
    def __init__(self, kind):
        super().__init__(); self.kind = kind
        if kind == "lin3":
            self.c = nn.Conv2d(3, 3, 3, padding=1, padding_mode="replicate"); nn.init.zeros_(self.c.weight); nn.init.zeros_(self.c.bias)
        else:
            self.c1 = nn.Conv2d(3, 16, 3, padding=1, padding_mode="replicate"); self.c2 = nn.Conv2d(16, 3, 3, padding=1, padding_mode="replicate")
            nn.init.zeros_(self.c2.weight); nn.init.zeros_(self.c2.bias)
    def forward(self, x):
        d = self.c(x) if self.kind == "lin3" else self.c2(F.relu(self.c1(x)))
        return minmax(x + d)

def train_adapter(xs, ts, kind, steps=400, seed=0, trunks=None):
    torch.manual_seed(seed)
    base = kind.split("_")[0]
    m = Adapter("lin3" if base.startswith("lin3") else "mlp"); opt = torch.optim.Adam(m.parameters(), 3e-3, weight_decay=1e-4)
    xs2 = torch.cat([xs, mirror_flow_image(xs)]); ts2 = torch.cat([ts, mirror_flow_image(ts)])
    for s in range(steps):
        idx = torch.randint(0, len(xs2), (64,))
        if base.endswith("kd"):
            out = m(xs2[idx]); loss = 0
            for tr in trunks:
                with torch.no_grad(): p = F.softmax(tr(ts2[idx]), 1)
                loss = loss + F.kl_div(F.log_softmax(tr(out), 1), p, reduction="batchmean")
        else:
            loss = F.l1_loss(m(xs2[idx]), ts2[idx])
        opt.zero_grad(); loss.backward(); opt.step()
    return m.eval()

kinds = sys.argv[1].split(",") if len(sys.argv) > 1 else []
target_name = sys.argv[2] if len(sys.argv) > 2 else "real"
target = {"real": real, "true": true}[target_name]
res = {k: [] for k in ["flow", "dgm", "true"] + kinds}
yy = []; t0 = time.time(); P = {}; order = []
for n, path in enumerate(sorted((runs[0] / "folds").glob("*.json"))):
    rec = json.loads(path.read_text()); idx = np.array(rec["indices"])
    trunks = [load_checkpoint(r / "checkpoints" / f"{path.stem}.pt")[0].eval() for r in runs]
    for tr in trunks:
        for p in tr.parameters(): p.requires_grad_(False)
    train = np.setdiff1d(np.arange(len(y)), idx)
    res["flow"] += probs(trunks, t(real[idx])).argmax(1).tolist()
    res["dgm"] += probs(trunks, t(dgm[idx])).argmax(1).tolist()
    res["true"] += probs(trunks, t(true[idx])).argmax(1).tolist()
    for k in kinds:
        m = train_adapter(t(dgm[train]), t(target[train]), k, seed=int(k.split("_")[-1]) if "_" in k else 0, trunks=trunks)
        with torch.no_grad():
            p = probs(trunks, m(t(dgm[idx])))
        res[k] += p.argmax(1).tolist(); P.setdefault(k, []).append(p)
    yy += y[idx].tolist(); order += idx.tolist()
    P.setdefault("flow", []).append(probs(trunks, t(real[idx]))); P.setdefault("dgm", []).append(probs(trunks, t(dgm[idx])))
    if n % 10 == 0: print(n, f"{time.time() - t0:.0f}s", flush=True)
np.savez(f"/tmp/s21/probs_{target_name}_{sys.argv[1].replace(',', '+')}.npz", order=np.array(order), y=np.array(yy), **{k: np.concatenate(v) for k, v in P.items()})
yy = np.array(yy); flow = np.array(res["flow"])
for k, v in res.items():
    v = np.array(v); s = score(yy, v, 3).as_dict()
    print(f"{k:8s} agreement {np.mean(v == flow):.3f}  UF1 {s['uf1']:.4f} UAR {s['uar']:.4f}")
