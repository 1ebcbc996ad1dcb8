"""Where the benchmark's encoded dimplers are lost: each saved pair (``dump_pairs.py``) through a live file, and
through the same trunks with DIS optical flow in place of the DGM; the mouth's mean |u| and |v| by each; how
closely the DGM's u on an encoded pair follows its u on the lossless one.

    PYTHONPATH=. python analyse_pairs.py pairs.npz [LIVE_FILE]
"""
import collections
import sys

import cv2
import numpy as np
import torch

from frl_core.models.frl_dgt import mirror_flow_image, render_flow_image
from frl_core.models.inference import Recognizer

MOUTH = (slice(None), slice(None), slice(140, 200), slice(50, 174))
"""Rows and columns of the 224-px aligned face around the mouth."""


def trunk_labels(rec: Recognizer, displacement: np.ndarray) -> list[str]:
    """The file's trunks on flow images rendered from ``displacement`` (N, 2, H, W), calibrated as the file is."""
    with torch.no_grad():
        flow = render_flow_image(torch.from_numpy(displacement), rec.model.config.flow_input_size)
        both = rec.model.ensemble_flow_logits(torch.cat((flow, mirror_flow_image(flow)))).float()
        probs = rec.calibrated(both[:, :len(flow)], both[:, len(flow):]).numpy()
    return [rec.class_names[i] if p[i] >= rec.settings.uncertain_below else "uncertain"
            for p, i in zip(probs, probs.argmax(1))]


def main() -> None:
    data = np.load(sys.argv[1])
    rec = Recognizer.from_checkpoint(sys.argv[2] if len(sys.argv) > 2 else None, device="cpu")
    codecs = list(dict.fromkeys(k.split("__")[0] for k in data.files))
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    reference = None
    for codec in codecs:
        out = rec.recognize(list(zip(data[f"{codec}__onset"], data[f"{codec}__apex"])))
        dgm = np.stack([r.displacement for r in out])
        flows = np.stack([dis.calc(onset, r.registered_apex, None).transpose(2, 0, 1)
                          for r, onset in zip(out, data[f"{codec}__onset"])]).astype(np.float32)
        print(f"{codec:7s} DGM: {dict(collections.Counter(r.label for r in out))}  "
              f"DIS -> the same trunks: {dict(collections.Counter(trunk_labels(rec, flows)))}")
        for name, d in (("DGM", dgm), ("DIS", flows)):
            u, v = np.abs(d[MOUTH][:, 0]).mean((1, 2)), np.abs(d[MOUTH][:, 1]).mean((1, 2))
            print(f"        {name} mouth |u| {u.mean():.3f} px, |v| {v.mean():.3f} px, v/u {np.mean(v / u):.2f}")
        if reference is None:
            reference = dgm
        else:
            r = [np.corrcoef(a[0].ravel(), b[0].ravel())[0, 1] for a, b in zip(dgm, reference)]
            print(f"        DGM u against the lossless pair's, median r {np.median(r):.2f}")


if __name__ == "__main__":
    main()
