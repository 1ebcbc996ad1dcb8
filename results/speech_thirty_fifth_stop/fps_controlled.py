"""One movement talked over, the same scene at 25, 30 and 60 fps: which frame rates find it.

    PYTHONPATH=. python results/speech_thirty_fifth_stop/fps_controlled.py SEED [N_SCENES]

The talking benchmark (`results/speech_thirtieth_stop/speech_bench.py`) draws its scenes anew at each frame rate,
so its figures at 25, 30 and 60 fps differ by scene as well as by rate. Here every scene is drawn in seconds and
rendered at each rate: one of the five benchmark faces (face height 0.9 for the bundled astronaut, 0.55 for the
others, as there), 3 s of talking from 4 s (syllables as `speech_bench.py`'s varied visemes: open, spread, rounded,
closed), one labelled movement (the labelled benchmark's expressions, 1-3 px of the aligned face, rise 0.12-0.2 s,
fall 0.15-0.25 s) starting 0.6-1.8 s into the talking, 9 s in all, head drift and roll, lighting drift, noise; mp4v. Prints
one line per scene (the intervals found at each rate, whether the movement is matched, MEGC IoU >= 0.5) and the
totals: movements found and false intervals per rate. RATES (default 25,30,60) and SCENE (one scene's number) narrow
it down for tracing.
"""
import math
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from frl_core.benchmarks.generated import benchmark_faces
from frl_core.engine import AnalysisEngine, EngineConfig, analyse_source
from frl_core.faces import alignment_matrix
from frl_core.io.sources import open_source
from frl_core.paths import default_data_root
from frl_core.spotting.megc_metric import match_intervals
from frl_core.synth.labelled import LABELLED_EXPRESSIONS, encode_video
from frl_core.synth.render import HeadMotion, Lighting, SyntheticEvent, micro_event, render_sequence

VISEMES = {"open": (("AU25", "AU26"), (3.0, 10.0)), "spread": (("AU20", "AU25"), (2.0, 6.0)),
           "rounded": (("AU18", "AU25"), (2.0, 6.0)), "closed": (("AU24",), (1.5, 4.0))}
SHARE = [0.45, 0.2, 0.2, 0.15]
RATES = tuple(float(r) for r in os.environ.get("RATES", "25,30,60").split(","))
ONLY = os.environ.get("SCENE")  # one scene by number, to trace it

seed = int(sys.argv[1])
n_scenes = int(sys.argv[2]) if len(sys.argv) > 2 else 40
faces = benchmark_faces(default_data_root(), 5)
expressions = [e for options in LABELLED_EXPRESSIONS.values() for e in options]
work = Path(tempfile.mkdtemp())
found_by_rate = {fps: 0 for fps in RATES}
false_by_rate = {fps: 0 for fps in RATES}
engines: dict[float, AnalysisEngine] = {}
for s in range(n_scenes):
    if ONLY is not None and s != int(ONLY):
        continue
    rng = np.random.default_rng((seed, s))
    name, img = faces[s % len(faces)]
    height = 0.9 if name == "astronaut" else 0.55
    expression = expressions[int(rng.integers(len(expressions)))]
    amp_aligned = float(rng.uniform(1.0, 3.0))
    rise, fall = float(rng.uniform(0.12, 0.2)), float(rng.uniform(0.15, 0.25))
    start_s = 4.0 + float(rng.uniform(0.6, 1.8))
    syllables, t = [], 4.0
    while t < 7.0:
        r, f, pause = rng.uniform(0.05, 0.12), rng.uniform(0.06, 0.15), rng.uniform(0.0, 0.12)
        aus, amps = VISEMES[str(rng.choice(list(VISEMES), p=SHARE))]
        syllables.append((t, r, f, aus, float(rng.uniform(*amps))))
        t += r + f + pause
    motion = HeadMotion(translation=float(rng.uniform(2.0, 4.0)), rotation_deg=float(rng.uniform(0.5, 1.5)),
                        periods_s=(float(rng.uniform(4, 7)), float(rng.uniform(2, 4))), phase=tuple(rng.uniform(0, 6, 6)))
    lighting = Lighting(gain=float(rng.uniform(0.03, 0.08)), gradient=float(rng.uniform(0.02, 0.06)),
                        period_s=float(rng.uniform(6, 10)), phase=float(rng.uniform(0, 6)))
    noise = float(rng.uniform(1.5, 3.0))
    cells = []
    for fps in RATES:
        probe = render_sequence(img, fps=fps, n_frames=1, face_height=height, background="soft")
        m = alignment_matrix(probe.face_landmarks, 224)
        per_aligned = 1.0 / math.sqrt(abs(np.linalg.det(m[:, :2])))
        talk = []
        for t0, r, f, aus, amp in syllables:
            a = round(t0 * fps)
            ap = a + max(2, round(r * fps))
            talk.append(SyntheticEvent(a, ap, ap + max(2, round(f * fps)), "open_smile", amp * per_aligned,
                                       label="speech", action_units=aus, kind="speech"))
        mv = micro_event(round(start_s * fps), fps, expression, amp_aligned * per_aligned, rise_s=rise, fall_s=fall)
        seq = render_sequence(img, fps=fps, events=[*talk, mv], seed=seed * 1000 + s, n_frames=round(9.0 * fps),
                              head_motion=motion, noise_sigma=noise, face_height=height, lighting=lighting,
                              background="soft")
        path = encode_video(seq, work / f"s{s}_{fps:g}.mp4", "mp4v")
        engine = engines.get(fps)
        if engine is None:
            engine = engines[fps] = AnalysisEngine(EngineConfig(fps=fps))
        else:
            engine.reset()
        src = open_source(str(path))
        try:
            spotted = analyse_source(src, engine)
        finally:
            src.close()
        pred = [(e.onset_index, e.offset_index) for e in spotted]
        hit = match_intervals([(mv.onset, mv.offset)], pred)
        found_by_rate[fps] += bool(hit)
        false_by_rate[fps] += len(pred) - len(hit)
        cells.append(f"{fps:g}: {'HIT ' if hit else 'miss'} {(mv.onset, mv.apex, mv.offset)} {pred}")
    print(f"scene {s:2d} {name:13s} {expression:22s} {amp_aligned:.2f} px | " + " | ".join(cells), flush=True)
print(f"seed {seed}, {n_scenes} scenes: " + ", ".join(
    f"{fps:g} fps found {found_by_rate[fps]}, false {false_by_rate[fps]}" for fps in RATES))
