"""The labelled benchmark's sequences with talking added: false intervals in speech, with and without the filter.

    PYTHONPATH=. TRAIN=3 python results/speech_thirtieth_stop/speech_bench.py SEED [mp4v|h264] [UTTERANCES]

Each of the ten sequences (five faces, the labelled benchmark's movements, drift, roll, lighting, noise;
SECONDS_LONG seconds long, default 20) gets UTTERANCES (default 2) stretches of talking of LEN seconds (default 1.5,3: drawn
uniformly between), at least 1 s from every labelled movement (DURING=1: each around a labelled movement,
which begins 0.5 s or more after its start and ends 0.5 s or more before its end; the last line then counts
the movements talked over, upper face (AU1-7 only) and lower): syllables
that open the lips and jaw (AU25 + AU26) by 3-10 px of the aligned face, each 0.11-0.27 s, with pauses of up
to 0.12 s. VISEMES=varied draws each syllable's lips instead: open (AU25 + AU26, 3-10 px) 45 %, spread
("ee": AU20 + AU25, 2-6 px) 20 %, rounded ("oo": AU18 + AU25, 2-6 px) 20 %, closed ("m", "b", "p": AU24,
1.5-4 px) 15 %. FPS (default 30) renders the sequences at another frame rate. TRAIN sets ``SpotterConfig.speech_train`` (0: the filter off), GAP ``speech_gap_s``. Spotting
only, scored against the labelled movements alone (MEGC IoU >= 0.5); RECOGNIZE=1 also recognises each event and
counts the labels of the movements found (talked over and the rest) that are right. The last line also counts the
events marked as made while talking (``Event.while_talking``): movements found talked over, the rest, false ones.
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


VISEMES = {"open": (("AU25", "AU26"), (3.0, 10.0)), "spread": (("AU20", "AU25"), (2.0, 6.0)),
           "rounded": (("AU18", "AU25"), (2.0, 6.0)), "closed": (("AU24",), (1.5, 4.0))}
VISEME_SHARE = {"open": 0.45, "spread": 0.2, "rounded": 0.2, "closed": 0.15}


def utterances(seq, rng, n=2, amp_aligned=(3.0, 10.0), lengths=(1.5, 3.0), during=False, varied=False):
    m = alignment_matrix(seq.face_landmarks, 224)
    per_px = math.sqrt(abs(np.linalg.det(m[:, :2])))
    fps = seq.fps
    busy = [(e.onset - int(fps), e.offset + int(fps)) for e in seq.events]
    out, spans = [], []
    for _ in range(200):
        if len(spans) == n:
            break
        length = rng.uniform(*lengths)
        if during:  # around a labelled movement, which starts 0.5 s or more into it and ends 0.5 s or more before its end
            e = seq.events[int(rng.integers(len(seq.events)))]
            start = e.onset - int(rng.uniform(0.5, max(0.5, length - 0.5 - (e.offset - e.onset) / fps)) * fps)
            end = start + int(length * fps)
            if start < 0 or end >= seq.n_frames or any(not (end < a or start > b) for a, b in spans):
                continue
        else:
            start = int(rng.uniform(1.0, seq.n_frames / fps - length - 0.5) * fps)
            end = start + int(length * fps)
            if any(not (end < a or start > b) for a, b in busy + spans):
                continue
        t = start
        while t < end - 4:
            rise = max(2, round(rng.uniform(0.05, 0.12) * fps))
            fall = max(2, round(rng.uniform(0.06, 0.15) * fps))
            aus, amps = ("AU25", "AU26"), amp_aligned
            if varied:
                aus, amps = VISEMES[str(rng.choice(list(VISEME_SHARE), p=list(VISEME_SHARE.values())))]
            amp = rng.uniform(*amps) / per_px
            out.append(SyntheticEvent(t, t + rise, t + rise + fall, "open_smile", amp, label="speech",
                                      action_units=aus, kind="speech"))
            t += rise + fall + max(1, round(rng.uniform(0.0, 0.12) * fps))
        spans.append((start, end))
    return out, spans


seed = int(sys.argv[1])
codec = sys.argv[2] if len(sys.argv) > 2 else "mp4v"
n_utt = int(sys.argv[3]) if len(sys.argv) > 3 else 2
seconds = float(os.environ.get("SECONDS_LONG", "20"))
fps = float(os.environ.get("FPS", "30"))
lengths = tuple(float(x) for x in os.environ.get("LEN", "1.5,3").split(","))
during = os.environ.get("DURING") == "1"
varied = os.environ.get("VISEMES") == "varied"
talked_over = {"upper": [0, 0], "lower": [0, 0]}  # movements inside talking: [found, all]
by_movement: dict[str, list[int]] = {}  # the same by expression
recognize = os.environ.get("RECOGNIZE") == "1"
labels = {"talked over": [0, 0], "the rest": [0, 0]}  # movements found: [labelled right, all]
flagged = {"talked over": [0, 0], "the rest": [0, 0], "false": [0, 0]}  # events: [marked while talking, all]
UPPER_AUS = {"AU1", "AU2", "AU4", "AU5", "AU6", "AU7"}
faces = benchmark_faces(default_data_root(), 5)
work = tempfile.mkdtemp()
engine = None
tp = n_gt = n_pred = in_speech = 0
only = os.environ.get("ONLY")  # "FACE,SEQUENCE": one sequence, e.g. "1,0"
for f, (name, img) in enumerate(faces):
    for k in range(2):
        if only and (f, k) != tuple(int(x) for x in only.split(",")):
            continue
        seq = labelled_sequence(img, seed + 1000 * f + k, face_height=0.9 if name == "astronaut" else 0.55,
                                seconds=seconds, fps=fps)
        rng = np.random.default_rng((seed, f, k))
        syll, spans = utterances(seq, rng, n=n_utt, lengths=lengths, during=during, varied=varied)
        talk = replace(seq, events=list(seq.events) + syll)
        talk.frames = RenderedFrames(seq.frames.face, talk)
        path = encode_video(talk, Path(work) / f"v_{f}_{k}.mp4", codec)
        if engine is None:
            train = int(os.environ.get("TRAIN", "3"))
            gap = {"speech_gap_s": float(os.environ["GAP"])} if "GAP" in os.environ else {}
            engine = AnalysisEngine(EngineConfig(fps=seq.fps, recognize=recognize,
                                                 spotter=SpotterConfig(speech_train=train, **gap)))
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
        tp, n_gt, n_pred, in_speech = tp + len(matches), n_gt + len(gt), n_pred + len(pred), in_speech + len(sp)
        for g, e in enumerate(seq.events):
            if any(a <= e.apex <= b for a, b in spans):
                face_part = "upper" if set(e.action_units) <= UPPER_AUS else "lower"
                talked_over[face_part][0] += g in matches
                talked_over[face_part][1] += 1
                by_movement.setdefault(e.expression, [0, 0])
                by_movement[e.expression][0] += g in matches
                by_movement[e.expression][1] += 1
        for i, event in enumerate(found):
            g = next((g for g, p in matches.items() if p == i), None)
            part = ("false" if g is None else
                    "talked over" if any(a <= seq.events[g].apex <= b for a, b in spans) else "the rest")
            flagged[part][0] += bool(getattr(event, "while_talking", False))
            flagged[part][1] += 1
        for g, p in matches.items():
            part = "talked over" if any(a <= seq.events[g].apex <= b for a, b in spans) else "the rest"
            labels[part][0] += found[p].label == seq.events[g].label
            labels[part][1] += 1
        print(f"{name:14s} {seq.seed}: {len(syll)} syllables in {spans}; found {len(pred)}, right {len(matches)}, "
              f"false {len(false)} ({len(sp)} in speech): {false}; missed {missed}; left out {engine.stats.speech}", flush=True)
print(f"{'varied visemes, ' if varied else ''}{f'{fps:g} fps, ' if fps != 30 else ''}seed {seed} {codec} train {os.environ.get('TRAIN', '3')} "
      f"gap {os.environ.get('GAP', '-')} "
      f"utterances {n_utt} of {lengths} s in {seconds:g} s: "
      f"F1 {2 * tp / (n_gt + n_pred):.3f}: {tp} right of {n_gt}, {n_pred} found, {n_pred - tp} false ({in_speech} in speech)"
      + (f"; talked over: upper face {talked_over['upper'][0]} of {talked_over['upper'][1]} found, lower face "
         f"{talked_over['lower'][0]} of {talked_over['lower'][1]} ("
         + ", ".join(f"{k} {a}/{b}" for k, (a, b) in sorted(by_movement.items())) + ")" if during else "")
      + "; marked while talking: " + ", ".join(f"{k} {a} of {b}" for k, (a, b) in flagged.items())
      + ("; labels of the movements found, right: " + ", ".join(f"{k} {a} of {b}" for k, (a, b) in labels.items())
         if recognize else ""))
