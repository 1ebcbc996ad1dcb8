"""Clips that start mid-sentence, then a 2 px movement some time after the talking ends: is it found?

    PYTHONPATH=. python results/speech_thirty_second_stop/after_talking.py GAPS KINDS   (e.g. 0.5,1,2 smile,brow_raise,none)

GAPS: seconds from the talking's last syllable to the movement's onset; KINDS: the movement (none: the talking
alone, then stillness). Each clip: the bundled face as mp4v (640x480, 30 fps, gentle head motion), 20 varied
syllables (``tests.scenes.talking``) from frame 1, 2, 4, 5, 6 or 7 at 4 and 6 px, then the movement (apex 5
frames after its onset, offset 12), then 2 s. A movement is found when a reported interval meets it at IoU 0.5;
every other reported interval is false. RENDER_SEED (default 4) and ONSETS (default 1,2,4,5,6,7) draw other
clips: the face's noise and head motion, and the syllables (drawn from the onset frame); FACE=k renders the
labelled benchmark's k-th face instead of the bundled one (``benchmark_faces``: 1-4 are composite subjects).
"""
import os
import sys
import tempfile
from pathlib import Path

from frl_core import synth
from frl_core.benchmarks.generated import benchmark_faces
from frl_core.paths import default_data_root
from frl_core.synth.render import SyntheticEvent
from tests.scenes import spot_encoded, talking

work = Path(tempfile.mkdtemp())
found_n = false = total = 0
render_seed = int(os.environ.get("RENDER_SEED", "4"))
face_index = int(os.environ.get("FACE", "0"))
face = benchmark_faces(default_data_root(), face_index + 1)[face_index][1] if face_index else None
gaps = [float(g) for g in (sys.argv[1].split(",") if len(sys.argv) > 1 else ["1"])]
kinds = sys.argv[2].split(",") if len(sys.argv) > 2 else ["smile", "brow_raise", "none"]
for kind in kinds:
    for gap in gaps:
        for onset in [int(o) for o in os.environ.get("ONSETS", "1,2,4,5,6,7").split(",")]:
            for amplitude in (4.0, 6.0):
                talk = talking(onset, 30, syllables=20, amplitude=amplitude, lips="varied")
                end = talk[-1].offset
                events = list(talk)
                move = None
                if kind != "none":
                    s = end + round(gap * 30)
                    move = SyntheticEvent(s, s + 5, s + 12, kind, 2.0)
                    events.append(move)
                seq = synth.render_sequence(face, fps=30, size=(640, 480), events=events, seed=render_seed,
                                            n_frames=end + round(gap * 30) + 60,
                                            head_motion=synth.HeadMotion(translation=1.5, rotation_deg=0.3))
                found, engine = spot_encoded(seq, work / f"t_{kind}_{gap}_{onset}_{amplitude:g}.mp4")
                hit = None
                if move is not None:
                    total += 1
                    for e in found:
                        inter = min(e.offset_index, move.offset) - max(e.onset_index, move.onset) + 1
                        union = max(e.offset_index, move.offset) - min(e.onset_index, move.onset) + 1
                        if inter / union >= 0.5:
                            hit = e
                    found_n += hit is not None
                false += sum(e is not hit for e in found)
                print(f"{kind} {gap:g}s after, talk from {onset}, {amplitude:g} px, talk ends {end}: "
                      f"move {None if move is None else (move.onset, move.offset)} "
                      f"reported {[(e.onset_index, e.offset_index) for e in found]} speech {len(engine.stats.speech)}",
                      flush=True)
print(f"movements found {found_n} of {total}; false intervals {false}")
