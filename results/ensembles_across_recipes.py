"""Issue 21: LOSO UF1 / UAR of ensembles across the recorded recipes' seeds, from their saved per-clip probabilities
(each member's probabilities averaged; no training). clips = configs/megc2019_live_clips.toml (the shipped trunks'
recipe), stn = configs/megc2019_flow_stn.toml, flow = configs/megc2019_flow.toml (the headline), seeds 1-3.
Every member was chosen on the same 442 clips: these are not nested figures.
usage: PYTHONPATH=. python results/ensembles_across_recipes.py"""
import pandas as pd, numpy as np, itertools
from frl_core.metrics import score
C = ["negative", "positive", "surprise"]
def load(p):
    d = pd.read_csv(p).set_index("clip"); return d
sets = {f"clips{s}": load(f"results/megc2019_live_clips_loso/predictions_seed{s}.csv") for s in (1, 2, 3)}
sets.update({f"stn{s}": load(f"results/megc2019_flow_stn_loso/predictions_seed{s}.csv") for s in (1, 2, 3)})
sets.update({f"flow{s}": load(f"results/megc2019_flow_loso/predictions_seed{s}.csv") for s in (1, 2, 3)})
ref = sets["clips1"]; y = ref["true"].map(C.index).values
def uf1(names):
    p = np.mean([sets[n].loc[ref.index, [f"prob_{c}" for c in C]].values for n in names], 0)
    s = score(y, p.argmax(1), 3).as_dict(); return s["uf1"], s["uar"]
for names in [["clips1"], ["clips1", "clips2"], ["clips1", "clips2", "clips3"], ["stn1", "stn2", "stn3"],
              ["clips1", "clips2", "clips3", "stn1", "stn2", "stn3"], ["flow1", "flow2", "flow3"],
              ["clips1", "clips2", "clips3", "stn1", "stn2", "stn3", "flow1", "flow2", "flow3"]]:
    print("+".join(names), "UF1 %.4f UAR %.4f" % uf1(names))
