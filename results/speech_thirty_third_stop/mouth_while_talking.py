"""Mouth movements made mid-sentence: are they found, and labelled right; and talking alone, is it left out?

    PYTHONPATH=. python results/speech_thirty_third_stop/mouth_while_talking.py KINDS AMPLITUDES
    (e.g. lip_corner_depressor,chin_raise,smile,none 1,2,3)

Each clip: a face as mp4v (640x480, 30 fps, gentle head motion), 30 syllables (``tests.scenes.talking``, lips
varied or open, 6 px) from frame 60, and the movement (``synth.micro_event``: onset, apex 5 frames later,
offset 12) with its onset at ONSET (default 200: mid-sentence), then 3 s. AMPLITUDES are the movement's size
in pixels of the aligned 224-pixel face, as the labelled benchmark's (the syllables' 6 px are the image's: 7.4
aligned px on the bundled face, 2.9-3.1 on the composite's, which fill more of the image); UNITS=image takes them
in pixels of the image instead (the first runs of this stop, ``image_px/``). A
movement is found when a reported interval meets it at IoU 0.5, labelled right when that interval's label is
the movement's class; every other interval reported is false. RENDER_SEEDS (default 4,7) draw the noise and
head motion; FACE=k renders the labelled benchmark's k-th face (``benchmark_faces``: 0 the bundled face, 1-4
composite subjects).
"""
import math
import os
import sys
import tempfile
from pathlib import Path

from frl_core import synth
import numpy as np

from frl_core.benchmarks.generated import benchmark_faces
from frl_core.faces import alignment_matrix
from frl_core.faces.action_units import EXPRESSIONS
from frl_core.paths import default_data_root
from tests.scenes import spot_encoded, talking

work = Path(tempfile.mkdtemp())
face_index = int(os.environ.get("FACE", "0"))
name, face = benchmark_faces(default_data_root(), face_index + 1)[face_index]
face = face if face_index else None
onset = int(os.environ.get("ONSET", "200"))
still = synth.render_sequence(face, fps=30, size=(640, 480), events=[], seed=4, n_frames=2)
per_px = math.sqrt(abs(np.linalg.det(alignment_matrix(still.face_landmarks, 224)[:, :2])))
if os.environ.get("UNITS") == "image":
    per_px = 1.0
kinds = sys.argv[1].split(",") if len(sys.argv) > 1 else ["lip_corner_depressor", "chin_raise", "none"]
amplitudes = [float(a) for a in (sys.argv[2].split(",") if len(sys.argv) > 2 else ["2"])]
tally: dict[str, list[int]] = {}
false = clips = 0
for kind in kinds:
    for amplitude in amplitudes if kind != "none" else [0.0]:
        for lips in ("varied", "open"):
            for render_seed in [int(s) for s in os.environ.get("RENDER_SEEDS", "4,7").split(",")]:
                talk = talking(60, 30, syllables=30, amplitude=6.0, lips=lips)
                move = synth.micro_event(onset, 30, kind, amplitude / per_px) if kind != "none" else None
                events = [*talk, move] if move is not None else list(talk)
                seq = synth.render_sequence(face, fps=30, size=(640, 480), events=events, seed=render_seed,
                                            n_frames=max(talk[-1].offset, onset + 12) + 90,
                                            head_motion=synth.HeadMotion(translation=1.5, rotation_deg=0.3))
                found, engine = spot_encoded(seq, work / "clip.mp4", recognize=move is not None)
                hit = None
                if move is not None:
                    for e in found:
                        inter = min(e.offset_index, move.offset) - max(e.onset_index, move.onset) + 1
                        union = max(e.offset_index, move.offset) - min(e.onset_index, move.onset) + 1
                        if inter / union >= 0.5:
                            hit = e
                    t = tally.setdefault(f"{kind} {amplitude:g} px", [0, 0, 0])
                    t[0] += hit is not None
                    t[1] += hit is not None and hit.label == EXPRESSIONS[kind][1]
                    t[2] += 1
                clips += 1
                false += sum(e is not hit for e in found)
                print(f"{name} {kind} {amplitude:g} px, lips {lips}, seed {render_seed}: move "
                      f"{None if move is None else (move.onset, move.apex, move.offset)} reported "
                      f"{[(e.onset_index, e.apex_index, e.offset_index, e.label) for e in found]} "
                      f"speech {len(engine.stats.speech)}", flush=True)
print(f"{name}, onset {onset}: " + "; ".join(f"{k}: found {a} of {n}, labelled right {b}" for k, (a, b, n) in tally.items())
      + f"; false intervals {false} in {clips} clips")
