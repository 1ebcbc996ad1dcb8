"""Per-expression labels of a live file on the DGM's held-out faces: pairs rendered as the bank renders them
(at 224 px), no video, no tracker. A fast proxy between trunk variants; the labelled benchmark is the check."""
import sys, collections
from pathlib import Path
import numpy as np
from frl_core.faces.action_units import (EXPRESSIONS, CLASS_EXPRESSIONS, VARIED_EXPRESSIONS, HELD_OUT_EXPRESSIONS,
                                         MovementShape, au_field)
from frl_core.models.inference import Recognizer
from frl_core.training.dgm_train import DGMTrainConfig, global_affine_field, held_out_subjects, load_face_bank, make_pair

bank = load_face_bank(Path('/work/shared/data'))
cfg = DGMTrainConfig(img_size=224)
held = held_out_subjects(bank.subjects, cfg.held_out_every)
idx = [i for i, s in enumerate(bank.subjects) if s in held]
exprs = sorted({n for d in (CLASS_EXPRESSIONS, VARIED_EXPRESSIONS, HELD_OUT_EXPRESSIONS) for v in d.values() for n in v})
rng = np.random.default_rng(2323)
pairs, truth, names = [], [], []
for shaped in (False, True):
    for e in exprs:
        for i in idx:
            pts = bank.landmarks[i] + rng.normal(0, 1.0, (68, 2))
            shape = MovementShape.draw(rng, 20.0) if shaped else MovementShape()
            f = au_field(pts, EXPRESSIONS[e][0], 224, 224, sigma_iod=shape.sigma_iod, side_gain=shape.side_gain,
                         turn_deg=shape.turn_deg) * np.float32(rng.uniform(0.5, 3.0))
            f += global_affine_field(rng, 224, 0.1)
            o, a, _ = make_pair(bank.faces[i], f, rng, cfg)
            pairs.append((o, a)); truth.append(EXPRESSIONS[e][1]); names.append((e, shaped))
print(f"{len(idx)} held-out faces, {len(pairs)} pairs", flush=True)
for path in sys.argv[1:]:
    rec = Recognizer.from_checkpoint(path, device="cpu")
    out = rec.recognize(pairs)
    right = collections.Counter(); total = collections.Counter()
    for r, t, n in zip(out, truth, names):
        total[n] += 1; right[n] += int(r.top_class == t)
    print(f"== {path}: all {sum(right.values())/len(out):.3f}")
    for shaped in (False, True):
        row = "  ".join(f"{e} {right[(e, shaped)]}/{total[(e, shaped)]}" for e in exprs)
        print(f"  {'shaped' if shaped else 'textbook'}: {row}")
