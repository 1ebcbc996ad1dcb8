"""Pool label accuracy (of the spotted; from the true onset and apex) and each movement's right-from-the-true-
frames over benchmark outputs, per codec. Usage: python compare.py FILE [FILE ...]"""

import re
import sys


def main(paths: list[str]) -> None:
    for codec in ("mp4v", "h264"):
        spotted = [0, 0]
        truth = [0, 0]
        f1 = [0, 0, 0]
        moves: dict[str, list[int]] = {}
        for path in paths:
            for line in open(path):
                if not line.startswith(f"[{codec}]"):
                    continue
                if m := re.search(r"spotting: (\d+) events, (\d+) spotted, (\d+) true positives", line):
                    for k in range(3):
                        f1[k] += int(m.group(k + 1))
                if m := re.search(r"recognition of the spotted: label accuracy [\d.]+ \((\d+)/(\d+)", line):
                    spotted[0] += int(m.group(1))
                    spotted[1] += int(m.group(2))
                if m := re.search(r"true onset and apex frames: label accuracy [\d.]+ \((\d+)/(\d+)", line):
                    truth[0] += int(m.group(1))
                    truth[1] += int(m.group(2))
                if "by movement" in line:
                    for name, a, _b, _c, d in re.findall(r"(\w+) (\d+)/(\d+)/(\d+)/(\d+)", line.split(":", 1)[1]):
                        row = moves.setdefault(name, [0, 0])
                        row[0] += int(a)
                        row[1] += int(d)
        if not truth[1]:
            continue
        gt, pred, tp = f1
        print(f"[{codec}] {len(paths)} runs: spotting F1 {2 * tp / (gt + pred):.3f}; labels of the spotted "
              f"{spotted[0]}/{spotted[1]} = {spotted[0] / spotted[1]:.3f}; from the true frames {truth[0]}/{truth[1]} = "
              f"{truth[0] / truth[1]:.3f}")
        print("   by movement, right from the true frames: "
              + ", ".join(f"{k} {v[1]}/{v[0]}" for k, v in sorted(moves.items())))


if __name__ == "__main__":
    main(sys.argv[1:])
