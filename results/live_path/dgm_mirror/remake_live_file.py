"""Re-save a live-path file with the DGM's mirror averaging turned on or off; every tensor stays as it was.

usage (repository root): PYTHONPATH=. python results/live_path/dgm_mirror/remake_live_file.py IN.pt OUT.pt on|off [FIGURES.json]
The shipped file was first assembled by `python main.py assemble-live` from files under runs/ that a clone
does not have; this keeps its weights and metadata and changes only `dgm_mirror` (and `figures` when given).
"""
import json
import sys

import torch

from frl_core.models.checkpoint import load_checkpoint, read_payload, save_checkpoint
from frl_core.models.frl_dgt import FRLDGT, FRLDGTConfig

source, target, mode = sys.argv[1], sys.argv[2], sys.argv[3]
payload = read_payload(source)
old, _ = load_checkpoint(source)
config = dict(payload["config"], dgm_mirror=mode == "on")
model = FRLDGT(FRLDGTConfig.from_dict(config))
model.variant = payload["variant"]
model.load_state_dict(old.state_dict())
metadata = dict(payload["metadata"], dgm_mirror_averaging=mode == "on")
if len(sys.argv) > 4:
    metadata["figures"] = {str(k): str(v) for k, v in json.load(open(sys.argv[4])).items()}
save_checkpoint(model.eval(), target, metadata=metadata)
new, _ = load_checkpoint(target)
same = all(torch.equal(a, b) for a, b in zip(old.state_dict().values(), new.state_dict().values()))
print(f"saved {target}: mirror averaging {mode}, every tensor identical to {source}: {same}")
