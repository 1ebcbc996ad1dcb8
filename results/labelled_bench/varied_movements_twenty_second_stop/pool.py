"""Pool `synth bench --labelled --movements varied` outputs by movement group: textbook, taught (the varied
bank's extra action units) and held out (no bank), per file. Usage: python pool.py FILE [FILE ...]"""

import re
import sys

from frl_core.faces.action_units import CLASS_EXPRESSIONS, HELD_OUT_EXPRESSIONS, VARIED_EXPRESSIONS

GROUPS = {name: group for group, sets in (("textbook", CLASS_EXPRESSIONS), ("taught by the varied bank", VARIED_EXPRESSIONS),
                                         ("held out", HELD_OUT_EXPRESSIONS))
          for names in sets.values() for name in names}


def main(paths: list[str]) -> None:
    for codec in ("mp4v", "h264"):
        moves: dict[str, list[int]] = {}
        for path in paths:
            for line in open(path):
                if line.startswith(f"[{codec}] by movement"):
                    for name, a, b, c, d in re.findall(r"(\w+) (\d+)/(\d+)/(\d+)/(\d+)", line.split(":", 1)[1]):
                        row = moves.setdefault(name, [0, 0, 0, 0])
                        for k, v in enumerate((a, b, c, d)):
                            row[k] += int(v)
        if not moves:
            continue
        print(f"[{codec}] movement: events, right from the true frames (spotted, right of the spotted)")
        totals: dict[str, list[int]] = {}
        for name in sorted(moves, key=lambda n: (list(GROUPS.values()).index(GROUPS[n]), n)):
            ev, sp, ok, truth = moves[name]
            print(f"  {GROUPS[name]:26s} {name:22s} {ev:3d} {truth:3d}  ({sp}, {ok})")
            t = totals.setdefault(GROUPS[name], [0, 0])
            t[0] += ev
            t[1] += truth
        for group, (ev, truth) in totals.items():
            print(f"  {group}: {truth}/{ev} = {truth / ev:.3f} from the true frames")
        ev = sum(v[0] for v in moves.values())
        truth = sum(v[3] for v in moves.values())
        print(f"  all: {truth}/{ev} = {truth / ev:.3f}")


if __name__ == "__main__":
    main(sys.argv[1:])
