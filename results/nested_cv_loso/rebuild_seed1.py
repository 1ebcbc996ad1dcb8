"""Seed 1's 63 GPU folds (gpu_h200_seed1.log) whose records did not come back from the device (only its log did): rebuild each
record from the logged inner UF1s and choice; a fold that chose the AU recipe has its outer model trained
again here on CPU from the seed the run would have used (seed*1e6 + f*1e4 + 9900 + c)."""
import json
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

LINE = re.compile(r"seed 1 (\S+): inner UF1 headline ([\d.]+), v1_12ep ([\d.]+), au ([\d.]+) -> (\w+) \(\w+, (\d+) s")
OUT = Path("runs/nested_loso/seed_1")  # then: nested-cv --outer loso --out runs/nested_loso


def cands():
    from frl_core.training.config import load_config, validate
    c = {}
    for name, path in [("headline", "configs/megc2019_flow.toml"),
                       ("v1_12ep", "results/megc2019_flow_loso_v1_12ep/config.resolved.toml"),
                       ("au", "configs/megc2019_flow_au.toml")]:
        cfg = load_config(path)
        cfg["train"]["calibration_folds"] = 0
        validate(cfg)
        c[name] = cfg
    return c


def one(m):
    import numpy as np
    import torch

    from frl_core.training.loop import fit_predict
    from frl_core.training.loso import protocol_folds
    from frl_core.training.nested_cv import _candidate_samples

    torch.set_num_threads(1)
    subject, h, v, a, chosen, secs = m
    c = cands()
    names = list(c)
    first = _candidate_samples(c["headline"])
    fold = next(f for f in protocol_folds(c["headline"], first) if f.test_subject == subject)
    rec = {"seed": 1, "subject": subject, "fold": fold.number,
           "inner_uf1": {"headline": float(h), "v1_12ep": float(v), "au": float(a)}, "chosen": chosen,
           "clips": [first.keys[i] for i in fold.test_indices], "seconds": float(secs)}
    if chosen == "headline":
        rec.update({"outer": "reused", "device": "cuda"})
    else:
        t = time.perf_counter()
        probs = fit_predict(c[chosen], _candidate_samples(c[chosen]), fold.train_indices, fold.test_indices,
                            1_000_000 + fold.number * 10_000 + 9_900 + names.index(chosen), torch.device("cpu"))
        rec.update({"outer": "trained", "probs": np.round(probs, 6).tolist(),
                    "device": "cuda (inner CV); outer model trained on cpu from the log's choice"})
        print(subject, f"{time.perf_counter() - t:.0f} s", flush=True)
    (OUT / f"{subject}.json").write_text(json.dumps(rec, indent=1))
    return subject


if __name__ == "__main__":
    rows = [LINE.search(line).groups() for line in open(sys.argv[1]) if LINE.search(line)]
    rows = [row for row in rows if not (OUT / f"{row[0]}.json").is_file()]  # 033-037 came back
    with ProcessPoolExecutor(2) as ex:
        done = list(ex.map(one, rows))
    print(len(done), "records")
