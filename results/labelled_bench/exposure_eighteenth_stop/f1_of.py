import re, sys
for path in sys.argv[1:]:
    t = {}
    for line in open(path):
        m = re.match(r"(\S+) (\d+) (plain|stepped): (\d+)/(\d+) right, (\d+) found", line)
        if m:
            s = t.setdefault(m.group(3), [0, 0, 0])
            s[0] += int(m.group(5)); s[1] += int(m.group(6)); s[2] += int(m.group(4))
    for k, s in t.items():
        print(path, k, f"F1 {2 * s[2] / (s[0] + s[1]):.3f} ({s[2]} right of {s[0]}, {s[1]} found)")
