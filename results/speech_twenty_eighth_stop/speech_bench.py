"""The labelled benchmark's sequences with talking added: false intervals in speech, with and without the filter.

    PYTHONPATH=. TRAIN=3 python results/speech_twenty_eighth_stop/speech_bench.py SEED [mp4v|h264] [UTTERANCES]

Each of the ten 20 s sequences (five faces, the labelled benchmark's movements, drift, roll, lighting, noise) gets
UTTERANCES (default 2) stretches of talking of 1.5-3 s, at least 1 s from every labelled movement: syllables
that open the lips and jaw (AU25 + AU26) by 3-10 px of the aligned face, each 0.11-0.27 s, with pauses of up
to 0.12 s. TRAIN sets ``SpotterConfig.speech_train`` (0: the filter off). Spotting only (no recognition);
scored against the labelled movements alone (MEGC IoU >= 0.5).
"""
import math
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from frl_core.benchmarks.generated import benchmark_faces
from frl_core.engine import AnalysisEngine, EngineConfig, analyse_source
from frl_core.faces import alignment_matrix
from frl_core.io.sources import open_source
from frl_core.paths import default_data_root
from frl_core.spotting.config import SpotterConfig
from frl_core.spotting.megc_metric import match_intervals
from frl_core.synth.labelled import encode_video, labelled_sequence
from frl_core.synth.render import RenderedFrames, SyntheticEvent


def utterances(seq, rng, n=2, amp_aligned=(3.0, 10.0)):
    m = alignment_matrix(seq.face_landmarks, 224)
    per_px = math.sqrt(abs(np.linalg.det(m[:, :2])))
    fps = seq.fps
    busy = [(e.onset - int(fps), e.offset + int(fps)) for e in seq.events]
    out, spans = [], []
    for _ in range(200):
        if len(spans) == n:
            break
        length = rng.uniform(1.5, 3.0)
        start = int(rng.uniform(1.0, seq.n_frames / fps - length - 0.5) * fps)
        end = start + int(length * fps)
        if any(not (end < a or start > b) for a, b in busy + spans):
            continue
        t = start
        while t < end - 4:
            rise = max(2, round(rng.uniform(0.05, 0.12) * fps))
            fall = max(2, round(rng.uniform(0.06, 0.15) * fps))
            amp = rng.uniform(*amp_aligned) / per_px
            out.append(SyntheticEvent(t, t + rise, t + rise + fall, "open_smile", amp, label="speech",
                                      action_units=("AU25", "AU26"), kind="speech"))
            t += rise + fall + max(1, round(rng.uniform(0.0, 0.12) * fps))
        spans.append((start, end))
    return out, spans


seed = int(sys.argv[1]); codec = sys.argv[2] if len(sys.argv) > 2 else "mp4v"
n_utt = int(sys.argv[3]) if len(sys.argv) > 3 else 2
faces = benchmark_faces(default_data_root(), 5)
work = tempfile.mkdtemp()
engine = None
tp = n_gt = n_pred = in_speech = 0
for f, (name, img) in enumerate(faces):
    for k in range(2):
        seq = labelled_sequence(img, seed + 1000 * f + k, face_height=0.9 if name == "astronaut" else 0.55)
        rng = np.random.default_rng((seed, f, k))
        syll, spans = utterances(seq, rng, n=n_utt)
        talk = replace(seq, events=list(seq.events) + syll)
        talk.frames = RenderedFrames(seq.frames.face, talk)
        path = encode_video(talk, Path(work) / f"v_{f}_{k}.mp4", codec)
        if engine is None:
            train = int(os.environ.get("TRAIN", "3"))
            engine = AnalysisEngine(EngineConfig(fps=seq.fps, recognize=False, spotter=SpotterConfig(speech_train=train)))
        else:
            engine.reset()
        src = open_source(str(path))
        try:
            found = analyse_source(src, engine)
        finally:
            src.close()
        gt = [(e.onset, e.offset) for e in seq.events]
        pred = [(e.onset_index, e.offset_index) for e in found]
        matches = dict(match_intervals(gt, pred))
        hit = set(matches.values())
        missed = [(e.expression, e.onset, e.apex, e.offset) for g, e in enumerate(seq.events) if g not in matches]
        false = [p for i, p in enumerate(pred) if i not in hit]
        sp = [p for p in false if any(not (p[1] < a or p[0] > b) for a, b in spans)]
        tp += len(matches); n_gt += len(gt); n_pred += len(pred); in_speech += len(sp)
        print(f"{name:14s} {seq.seed}: {len(syll)} syllables in {spans}; found {len(pred)}, right {len(matches)}, "
              f"false {len(false)} ({len(sp)} in speech): {false}; missed {missed}; left out {engine.stats.speech}", flush=True)
print(f"F1 {2 * tp / (n_gt + n_pred):.3f}: {tp} right of {n_gt}, {n_pred} found, {n_pred - tp} false ({in_speech} in speech)")
