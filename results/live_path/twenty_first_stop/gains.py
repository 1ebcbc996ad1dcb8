import numpy as np
from frl_core.paths import default_data_root
from frl_core.data.megc2019 import Megc2019
from frl_core.motion.registration import match_exposure
from frl_core.training.live_path import semi_synthetic_pair
ds = Megc2019(default_data_root())
g = np.array([match_exposure(*semi_synthetic_pair(ds.apexes[i], ds.flows[i]))[1] for i in range(len(ds.clips))])
d = np.abs(g - 1)
print("pairs with a gain applied", int((d > 0).sum()), "of", len(g), "; |gain-1| median %.4f p95 %.4f max %.4f" % (np.median(d), np.percentile(d, 95), d.max()))
