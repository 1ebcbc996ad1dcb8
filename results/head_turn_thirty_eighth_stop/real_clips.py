"""Per event of the same input analysed twice (two `analyze` output roots, one folder per clip): the label and
probabilities before and after, the turn registration took out, the motion left in the glabella-and-nose region.

python results/head_turn_thirty_eighth_stop/real_clips.py OUT_BEFORE OUT_AFTER
"""

import csv
import sys
from pathlib import Path


def main(before: Path, after: Path) -> None:
    for clip in sorted(p for p in after.iterdir() if (p / "events.csv").is_file()):
        old_file = before / clip.name / "events.csv"
        if not old_file.is_file():
            continue
        old = list(csv.DictReader(open(old_file)))
        new = list(csv.DictReader(open(clip / "events.csv")))
        print(f"{clip.name}: {len(old)} -> {len(new)} events")
        by_onset = {r["onset_index"]: r for r in old}
        for b in new:
            a = by_onset.get(b["onset_index"])
            probs = "/".join(f"{float(b[f'prob_{c}']):.2f}" for c in ("negative", "positive", "surprise"))
            turn = f"yaw {float(b.get('head_yaw_deg') or 0):5.2f} pitch {float(b.get('head_pitch_deg') or 0):5.2f}"
            if a is None:
                print(f"  {b['onset_index']:>4s}-{b['apex_index']:>4s} new: {b['label']} {probs}  {turn}")
                continue
            old_probs = "/".join(f"{float(a[f'prob_{c}']):.2f}" for c in ("negative", "positive", "surprise"))
            print(f"  {b['onset_index']:>4s}-{b['apex_index']:>4s} {a['label']:>9s} -> {b['label']:<9s} neg/pos/sur "
                  f"{old_probs} -> {probs}  {turn}  glabella & nose {float(a['motion_glabella_nose']):.2f} -> "
                  f"{float(b['motion_glabella_nose']):.2f} px")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
