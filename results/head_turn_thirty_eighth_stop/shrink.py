"""The shrink of the fitted turn: bench dgm's registration errors (a still head with a 1-3 px movement; a head
turned 1-4 degrees) for several shrinks. Run from the repository root with PYTHONPATH=."""
import frl_core.motion.registration as R
from frl_core.training.dgm_train import registration_errors, DGMTrainConfig, load_face_bank
from frl_core.paths import default_data_root
bank = load_face_bank(default_data_root())
for sh in (0.25, 0.4, 0.6, 1.0):
    R.TURN_SHRINK_DEG = sh
    r = registration_errors(bank, DGMTrainConfig(img_size=224), n=60)
    print(sh, {k: (round(v['mean_px'],3), round(v['p95_px'],3)) for k, v in r.items()}, round(r['turned_with_action_units']['similarity_only_mean_px'],3), flush=True)
