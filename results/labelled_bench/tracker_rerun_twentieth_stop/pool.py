"""Pool labelled-bench outputs (twentieth stop): F1 per codec, labels of the spotted, strongest region right.
usage: pool.py FILE ..."""
import re, sys, collections
tot = collections.defaultdict(lambda: [0, 0, 0, 0, 0, 0])
for path in sys.argv[1:]:
    row = [path.split("/")[-1].replace(".txt", "")]
    for line in open(path):
        m = re.match(r"\[(.+?)\] spotting: (\d+) events, (\d+) spotted, (\d+) true positives, F1 ([\d.]+)", line)
        if m:
            c = m.group(1); t = tot[c]; t[0] += int(m.group(2)); t[1] += int(m.group(3)); t[2] += int(m.group(4))
            row.append(f"{c} F1 {m.group(5)}")
        m = re.match(r"\[(.+?)\] recognition of the spotted: label accuracy ([\d.]+) \((\d+)/(\d+).*region right ([\d.]+)", line)
        if m:
            c = m.group(1); t = tot[c]; t[3] += int(m.group(3)); t[4] += int(m.group(4)); t[5] += round(float(m.group(5)) * int(m.group(4)))
            row.append(f"labels {m.group(2)} region {m.group(5)}")
    print("  ".join(row))
for c, (ev, sp, tp, right, n, reg) in tot.items():
    print(f"pooled {c}: F1 {2*tp/(ev+sp):.3f} ({tp}/{ev} true, {sp} found), labels {right/n:.3f} ({right}/{n}), region {reg/n:.3f}")
ev = sum(t[0] for t in tot.values()); sp = sum(t[1] for t in tot.values()); tp = sum(t[2] for t in tot.values())
print(f"pooled all: F1 {2*tp/(ev+sp):.4f}")
