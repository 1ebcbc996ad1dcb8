"""Recognition from the true onset/apex frames, single frames against short temporal means (noise)."""
import sys, tempfile
from pathlib import Path
import numpy as np
from frl_core.benchmarks.generated import benchmark_faces
from frl_core.engine import AnalysisEngine, EngineConfig, analyse_source
from frl_core.faces import alignment_matrix
from frl_core.faces.pair import _aligned, align_pair, face_patch
from frl_core.io.sources import open_source
from frl_core.paths import default_data_root
from frl_core.synth.labelled import labelled_sequence, encode_video

seed0, noise, codec = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
faces = benchmark_faces(default_data_root(), 5)
seqs = [(n, labelled_sequence(img, seed0 + 1000 * f + k, face_height=(0.9 if n == "astronaut" else 0.55), noise_scale=noise))
        for f, (n, img) in enumerate(faces) for k in range(2)]
variants = {"single": (0, 0), "onset3": (2, 0), "onset3_apex3": (2, 1), "onset5_apex3": (4, 1)}
right = {v: 0 for v in variants}; unc = {v: 0 for v in variants}; total = 0
engine = None
with tempfile.TemporaryDirectory() as tmp:
    for name, seq in seqs:
        path = encode_video(seq, Path(tmp) / f"{name.replace('/', '_')}_{seq.seed}.mkv", codec)
        engine = engine or AnalysisEngine(EngineConfig(fps=seq.fps))
        engine.reset()
        wanted = {i for e in seq.events for i in list(range(e.onset - 4, e.onset + 1)) + list(range(e.apex - 1, e.apex + 2))}
        kept = {}
        def keep(frame, result, _ev, kept=kept, wanted=wanted):
            if result.index in wanted and result.face is not None:
                kept[result.index] = face_patch(frame, result.face.landmarks, 224)
        src = open_source(str(path))
        analyse_source(src, engine, on_frame=keep)
        src.close()
        for e in seq.events:
            if e.onset not in kept or e.apex not in kept:
                continue
            total += 1
            pairs = {}
            for v, (before, around) in variants.items():
                if v == "single":
                    p = align_pair(kept[e.onset], kept[e.apex], 224)
                    pairs[v] = (p.onset, p.apex)
                    continue
                m = alignment_matrix((kept[e.onset].landmarks + kept[e.apex].landmarks) / 2.0, 224)
                on = [kept[k] for k in range(e.onset - before, e.onset + 1) if k in kept]
                ap = [kept[k] for k in range(e.apex - around, e.apex + around + 1) if k in kept]
                mean = lambda ps: np.clip(np.mean([_aligned(p, m, 224).astype(np.float32) for p in ps], 0) + 0.5, 0, 255).astype(np.uint8)
                pairs[v] = (mean(on), mean(ap))
            recs = engine.recognizer.recognize(list(pairs.values()))
            for v, r in zip(pairs, recs):
                right[v] += r.label == e.label
                unc[v] += r.label == "uncertain"
print(f"seed {seed0} noise x{noise:g} {codec}: {total} pairs")
for v in variants:
    print(f"  {v:14s} right {right[v]}/{total} = {right[v]/total:.3f}, uncertain {unc[v]}")
