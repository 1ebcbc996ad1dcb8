"""Spotting pooled over every labelled-benchmark run of the shipped file (banks at 224 px): events, intervals
spotted, true positives and F1 per codec, from the runs' own `[codec] spotting:` lines."""
import glob
import re

FILES = sorted(glob.glob("results/labelled_bench/dimpler_cause_twenty_fifth_stop/*bank224*.txt")
               + glob.glob("results/labelled_bench/bank224_twenty_sixth_stop/*seed*.txt")
               + glob.glob("results/labelled_bench/seed12700_twenty_seventh_stop/seed*.txt"))
LINE = re.compile(r"\[(\w+)\] spotting: (\d+) events, (\d+) spotted, (\d+) true positives")
totals: dict[str, list[int]] = {}
sets: set[str] = set()
for path in FILES:
    for line in open(path):
        m = LINE.match(line)
        if m:
            sets.add(path)
            events, spotted, tp = map(int, m.groups()[1:])
            print(f"{path.split('/')[-1]:45s} {m.group(1):5s} events {events} spotted {spotted} true {tp} "
                  f"F1 {2 * tp / (events + spotted):.3f}")
            t = totals.setdefault(m.group(1), [0, 0, 0])
            t[0], t[1], t[2] = t[0] + events, t[1] + spotted, t[2] + tp
for codec, (events, spotted, tp) in totals.items():
    print(f"{codec}: {len(sets)} sets, {events} events, {spotted} spotted, {tp} true positives: "
          f"recall {tp / events:.3f}, precision {tp / spotted:.3f}, pooled F1 {2 * tp / (events + spotted):.4f}")
