"""How many matched (TP) and false (FP) events of a gains_of_events.py listing each limit on the onset-to-apex gain
would leave out. usage: thresholds.py LISTING.txt"""
import re, sys
import numpy as np
tp, fp = [], []
for l in open(sys.argv[1]):
    g = float(re.search(r"gain ([\d.]+)", l).group(1))
    (tp if " TP " in l else fp).append(g)
print(sys.argv[1], "TP", len(tp), "FP", len(fp), "TP |g-1| p99 %.3f max %.3f" % (np.percentile(np.abs(np.array(tp)-1), 99), np.max(np.abs(np.array(tp)-1))))
for th in (0.03, 0.04, 0.05, 0.06, 0.08):
    print(th, "TP dropped", sum(abs(g-1) > th for g in tp), " FP dropped", sum(abs(g-1) > th for g in fp))
