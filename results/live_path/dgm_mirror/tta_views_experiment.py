import sys, json, time
import torch
from torch import nn
from frl_core.models.checkpoint import load_checkpoint
from frl_core.models.inference import default_checkpoint_path
from frl_core.paths import default_data_root
from frl_core.training.dgm_train import (DGMTrainConfig, load_face_bank, validation_set, endpoint_errors,
                                         sequence_agreement, flow_image_check)

class MirrorDGM(nn.Module):
    def __init__(self, dgm, views):
        super().__init__(); self.inner = dgm; self.views = views
    def _m(self, o, a):
        dm, _ = self.inner(torch.flip(o, (-1,)), torch.flip(a, (-1,)))
        dm = torch.flip(dm, (-1,))
        return torch.cat((-dm[:, :1], dm[:, 1:]), 1)
    def forward(self, o, a):
        d, b = self.inner(o, a)
        outs = [d]
        if "m" in self.views: outs.append(self._m(o, a))
        if "r" in self.views: outs.append(-self.inner(a, o)[0])
        if "mr" in self.views: outs.append(-self._m(a, o))
        return sum(outs) / len(outs), b

torch.set_num_threads(1)
root = default_data_root()
model, _ = load_checkpoint(default_checkpoint_path())
cfg = DGMTrainConfig(img_size=int(model.config.img_size))
bank = load_face_bank(root)
pairs = validation_set(bank, cfg, int(sys.argv[1]) if len(sys.argv) > 1 else 128)
out = {}
base = model.dgm
for name in sys.argv[2].split(","):
    model.dgm = base if name == "plain" else MirrorDGM(base, name.split("+"))
    t = time.time()
    v = endpoint_errors(model, pairs)
    s = sequence_agreement(model, root, cfg.img_size)
    f = flow_image_check(model, root)
    out[name] = {"epe": v, "seq_mean_r": s["mean_correlation"], "seq_dgm_vs_motion": s["mean_dgm_vs_motion"],
                 "seq_r": [round(r["correlation"], 3) for r in s["pairs"]], "flow_image": f["dgm"]}
    print(name, round(time.time() - t, 1), "s", json.dumps({k: (round(x, 4) if isinstance(x, float) else x) for k, x in v.items()}))
    print("   seq r", round(s["mean_correlation"], 4), "triad", round(s["mean_dgm_vs_motion"], 4), out[name]["seq_r"])
    print("   flow image", json.dumps(f["dgm"]))
json.dump(out, open(f"/tmp/s13/mirror_dgm_{sys.argv[2]}.json", "w"), indent=1)
