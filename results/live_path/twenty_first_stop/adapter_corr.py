import sys, numpy as np, torch
sys.argv = [sys.argv[0], "", sys.argv[1]]
from pathlib import Path as _P
exec(open(_P(__file__).with_name("adapter.py")).read().split("kinds = ")[0])
target_name = sys.argv[2]; target = {"real": real, "true": true}[target_name]
def corr(a, b):
    return [np.corrcoef(a[:, c].ravel(), b[:, c].ravel())[0, 1] for c in range(3)]
def per_clip(a, b):
    return np.array([[np.corrcoef(a[i, c].ravel(), b[i, c].ravel())[0, 1] for c in range(3)] for i in range(len(a))])
base_t, base_r, ad_t, ad_r = [], [], [], []
for s in sorted(set(subjects)):
    idx = np.flatnonzero(subjects == s); train = np.flatnonzero(subjects != s)
    m = train_adapter(t(dgm[train]), t(target[train]), "mlp_0", seed=0)
    with torch.no_grad(): out = m(t(dgm[idx])).numpy()
    base_t.append(per_clip(dgm[idx], true[idx])); base_r.append(per_clip(dgm[idx], real[idx]))
    ad_t.append(per_clip(out, true[idx])); ad_r.append(per_clip(out, real[idx]))
f = lambda x: np.nanmean(np.concatenate(x), 0).round(3)
print("target", target_name, "| vs true: dgm", f(base_t), "adapted", f(ad_t), "| vs real: dgm", f(base_r), "adapted", f(ad_r))
