"""How many coded micro-expressions of the long-video datasets lie in trains of lower-face-only movements,
which the speech filter would leave out if the spotter found every one of them (an upper bound of its cost).

    python results/speech_twenty_eighth_stop/gt_trains.py [DATA_ROOT]   # default ../shared/data
"""
import collections
import re
import sys
from pathlib import Path

import pandas as pd

LOWER = {10, 11, 12, 13, 14, 15, 16, 17, 18, 20, 22, 23, 24, 25, 26, 27, 28}


def action_units(text) -> set[int]:
    return {int(x) for x in re.findall(r"(?<![\d.])(\d+)", str(text)) if int(x) < 70}


def trains(videos, fps, gap_s, need):
    flagged = 0
    for ivs in videos.values():
        lower = sorted(x for x in ivs if x[3])
        current, found = [], []
        for x in lower:
            if current and x[0] - max(c[1] for c in current) <= gap_s * fps:
                current.append(x)
            else:
                found.append(current)
                current = [x]
        found.append(current)
        flagged += sum(x[2] for t in found if len(t) >= need for x in t)
    return flagged


root = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data") / "spotting"
samm = pd.read_excel(root / "samm_lv_gt.xlsx", sheet_name="FACS_Movement_Only", header=None)
table = samm.iloc[10:].copy()
table.columns = samm.iloc[9].tolist()
samm_videos = collections.defaultdict(list)
for _, r in table.dropna(subset=["Onset"]).iterrows():
    try:
        onset, offset = float(r["Onset"]), float(r["Offset"])
    except ValueError:
        continue
    aus = action_units(r["Action Units"])
    samm_videos["_".join(str(r["Filename"]).split("_")[:2])].append(
        (onset, offset if offset > 0 else float(r["Apex"]), str(r["Type"]).startswith("Micro"), bool(aus) and aus <= LOWER))
casme = pd.read_excel(root / "casme_sq_gt.xlsx", sheet_name=0, header=None)
casme_videos = collections.defaultdict(list)
for _, r in casme.iterrows():
    aus = action_units(r[5])
    offset = float(r[4]) if float(r[4]) > 0 else float(r[3])
    casme_videos[(r[0], str(r[1]).split("_")[0])].append(
        (float(r[2]), offset, str(r[7]).startswith("micro"), bool(aus) and aus <= LOWER))
for name, videos, fps in (("SAMM long videos", samm_videos, 200), ("CAS(ME)^2", casme_videos, 30)):
    micro = sum(x[2] for v in videos.values() for x in v)
    for gap_s in (0.5, 0.75, 1.0):
        print(f"{name}, gap {gap_s} s, trains of 3 or more: {trains(videos, fps, gap_s, 3)} of {micro} "
              "micro-expressions in trains of lower-face-only movements")
