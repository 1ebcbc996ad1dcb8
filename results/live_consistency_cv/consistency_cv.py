"""5-fold subject-grouped CV of a recipe: flow mode on held-out real flow images, the live path on the
held-out clips' DGM twins (the clip bank), and how often the two agree; with and without live_consistency."""
import copy, json, sys, time
import numpy as np, torch
from frl_core.metrics import score
from frl_core.training.config import load_config
from frl_core.training.loop import build_model, fit_members, predict_members, set_determinism
from frl_core.training.recipe_cv import grouped_folds
from frl_core.training.samples import samples_for

weight = float(sys.argv[1]); seeds = [int(s) for s in sys.argv[2].split(",")]; out = sys.argv[3]
torch.set_num_threads(1)
cfg = load_config("configs/megc2019_live_bank224.toml")
cfg["train"]["calibration_folds"] = 0
cfg["train"]["live_consistency"] = weight
samples = samples_for(cfg)
twins = samples.clip_twins()
labels = np.asarray(samples.labels)
rows = []
for seed in seeds:
    p_real = np.zeros((len(labels), 3)); p_twin = np.zeros((len(labels), 3))
    t0 = time.time()
    for f, (tr, te) in enumerate(grouped_folds(samples.subjects, 5)):
        s = seed * 1000 + f
        set_determinism(s, torch.device("cpu"))
        model = build_model(cfg["model"], 3, samples.class_names)
        members, _ = fit_members(model, samples, tr, cfg, torch.device("cpu"), s)
        p_real[te] = predict_members(members, samples, te, cfg, torch.device("cpu"))
        p_twin[te] = predict_members(members, samples, twins[te], cfg, torch.device("cpu"))
        print(f"w {weight} seed {seed} fold {f} {time.time() - t0:.0f} s", flush=True)
    r, t = p_real.argmax(1), p_twin.argmax(1)
    row = {"weight": weight, "seed": seed, "uf1_flow": score(labels, r, 3).uf1, "uf1_live": score(labels, t, 3).uf1,
           "agreement": float((r == t).mean())}
    print(json.dumps(row), flush=True)
    rows.append(row)
    np.savez(f"{out}_w{weight}_s{seed}.npz", real=p_real, twin=p_twin, labels=labels)
