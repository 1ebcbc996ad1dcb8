"""Webcam auto-exposure: the labelled sequences with sudden gain steps (ramped over RAMP_FRAMES frames to a
new gain in 1/GAIN_MAX..GAIN_MAX of the first, at least 6 % from the last), encoded,
through the engine; spotting F1 against the same sequences without the steps.
usage: exposure.py SEED CODEC NSTEPS GAIN_MAX RAMP_FRAMES [OUTJSON]"""
import json, sys, tempfile
from pathlib import Path
import numpy as np
from frl_core.benchmarks.generated import benchmark_faces
from frl_core.engine import AnalysisEngine, EngineConfig, analyse_source
from frl_core.io.sources import open_source
from frl_core.paths import default_data_root
from frl_core.spotting.megc_metric import match_intervals
from frl_core.synth.labelled import encode_video, labelled_sequence

seed0, codec, nsteps, gmax, ramp = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])

class Stepped:
    def __init__(self, seq, steps):
        self.seq, self.steps, self.fps, self.size = seq, steps, seq.fps, seq.size
    @property
    def frames(self):
        for i, f in enumerate(self.seq.frames):
            g = 1.0
            for start, level in sorted(self.steps):
                if i >= start + ramp:
                    g = level
                elif i > start:
                    g = g + (level - g) * (i - start) / ramp
            yield np.clip(f.astype(np.float32) * g, 0, 255).astype(np.uint8) if g != 1.0 else f

faces = benchmark_faces(default_data_root(), 5)
tot = {"plain": [0, 0, 0], "stepped": [0, 0, 0]}
import os
from frl_core.spotting import SpotterConfig
engine = AnalysisEngine(EngineConfig(fps=30.0, spotter=SpotterConfig(exposure_s=float(os.environ.get("EXPOSURE_S", "20")))))
print("exposure_s", engine.spotter_config.exposure_s)
rows = []
with tempfile.TemporaryDirectory() as tmp:
    for f, (fn, img) in enumerate(faces):
        for k in range(2):
            seed = seed0 + 1000 * f + k
            seq = labelled_sequence(img, seed, fps=30.0, face_height=0.9 if fn == "astronaut" else 0.55)
            rng = np.random.default_rng(seed + 777)
            # the gain the camera settles at after each step: 0.83-1.2 of the first, 6 % or more from the last
            starts, steps, level = np.sort(rng.integers(45, 560, nsteps)), [], 1.0
            for start in starts:
                while True:
                    new = float(rng.uniform(1 / gmax, gmax))
                    if abs(new / level - 1) >= 0.06:
                        break
                steps.append((int(start), new))
                level = new
            gt = [(e.onset, e.offset) for e in seq.events]
            versions = (("plain", seq), ("stepped", Stepped(seq, steps)))
            if os.environ.get("ONLY_STEPPED"):
                versions = versions[1:]
            if os.environ.get("ONLY_PLAIN"):
                versions = versions[:1]
            for name, s in versions:
                path = encode_video(s, Path(tmp) / f"v.{'mp4' if codec == 'mp4v' else 'mkv'}", codec)
                engine.reset()
                with open_source(str(path)) as src:
                    found = analyse_source(src, engine)
                pred = [(e.onset_index, e.offset_index) for e in found]
                hit = len(dict(match_intervals(gt, pred)))
                t = tot[name]; t[0] += len(gt); t[1] += len(pred); t[2] += hit
                extra = [p for p in pred if not any(min(p[1], g[1]) - max(p[0], g[0]) > 0 for g in gt)]
                rows.append({"face": fn, "seed": seed, "version": name, "steps": steps, "truth": gt, "found": pred})
                print(f"{fn} {seed} {name}: {hit}/{len(gt)} right, {len(pred)} found; unmatched found {extra}; steps {[(a, round(b, 3)) for a, b in steps] if name == 'stepped' else ''}", flush=True)
f1 = lambda t: 2 * t[2] / (t[0] + t[1])
for name, t in tot.items():
    if t[0]:
        print(f"[{codec}] {name}: F1 {f1(t):.3f} ({t[2]} right of {t[0]}, {t[1]} found)")
if len(sys.argv) > 6:
    Path(sys.argv[6]).write_text(json.dumps(rows, indent=1))
