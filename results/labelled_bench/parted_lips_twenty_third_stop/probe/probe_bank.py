"""open_smile / smile / dimpler on held-out faces: rendered the bank's way (DGM at 112, one view) vs the live path."""
import sys, collections
from pathlib import Path
import numpy as np, torch
from frl_core.faces.action_units import EXPRESSIONS, MovementShape, au_field
from frl_core.models.checkpoint import load_checkpoint
from frl_core.models.inference import Recognizer
from frl_core.motion.flow_image import flow_image
from frl_core.training.dgm_train import DGMTrainConfig, global_affine_field, held_out_subjects, load_face_bank, make_pair

bank = load_face_bank(Path('/work/shared/data'))
held = held_out_subjects(bank.subjects, DGMTrainConfig().held_out_every)
idx = [i for i, s in enumerate(bank.subjects) if s in held]
live, trunk = sys.argv[1], sys.argv[2]
model, _ = load_checkpoint(live); model.dgm.mirror = False; model.eval()
tm, _ = load_checkpoint(trunk); tm.eval()
rec = Recognizer.from_checkpoint(live, device="cpu")
names = rec.model.class_names if hasattr(rec.model, "class_names") else ["negative", "positive", "surprise"]
for e in ("open_smile", "smile", "dimpler", "lip_corner_depressor"):
    for size in (112, 224):
        rng = np.random.default_rng(5)
        cfg = DGMTrainConfig(img_size=size)
        pairs, flows = [], []
        for i in idx:
            pts = bank.landmarks[i] + rng.normal(0, 1.0, (68, 2))
            f = au_field(pts, EXPRESSIONS[e][0], 224, 224) * np.float32(rng.uniform(0.5, 3.0))
            f += global_affine_field(rng, 224, 0.1)
            o, a, _ = make_pair(bank.faces[i], f, rng, cfg)
            pairs.append((o, a))
        with torch.no_grad():
            ot = torch.from_numpy(np.stack([p[0] for p in pairs]).astype(np.float32)[:, None] / 255)
            at = torch.from_numpy(np.stack([p[1] for p in pairs]).astype(np.float32)[:, None] / 255)
            d, _ = model.dgm(ot, at)
            fl = np.stack([flow_image(x) for x in d.numpy()])
            pred = tm.forward_flow_image(torch.from_numpy(fl.astype(np.float32) / 255).permute(0, 3, 1, 2)).argmax(1).numpy()
        want = ["negative", "positive", "surprise"].index(EXPRESSIONS[e][1])
        lp = [r.top_class for r in rec.recognize(pairs)]
        print(f"{e:22s} {size}px: bank-way trunk {np.mean(pred == want):.2f}   live path {np.mean([p == EXPRESSIONS[e][1] for p in lp]):.2f}")
