"""Clips that start mid-sentence: false intervals when the talking begins with the stream.

    PYTHONPATH=. python results/speech_thirty_first_stop/mid_sentence.py

Twelve mp4v clips of the bundled face (640x480, 30 fps, gentle head motion): 20 varied syllables
(``tests.scenes.talking``: open, spread, rounded, pressed lips in turn) from frame 1, 2, 4, 5, 6 or 7, at 4 and 6
px, then 2 s without talking. Nothing in them is a micro-expression; each line gives what the engine reported
and how many intervals it left out as speech.
"""
import tempfile
from pathlib import Path

from frl_core import synth
from tests.scenes import spot_encoded, talking

work = Path(tempfile.mkdtemp())
false = 0
for onset in (1, 2, 4, 5, 6, 7):
    for amplitude in (4.0, 6.0):
        talk = talking(onset, 30, syllables=20, amplitude=amplitude, lips="varied")
        seq = synth.render_sequence(None, fps=30, size=(640, 480), events=talk, seed=4, n_frames=talk[-1].offset + 60,
                                    head_motion=synth.HeadMotion(translation=1.5, rotation_deg=0.3))
        found, engine = spot_encoded(seq, work / f"talk_{onset}_{amplitude:g}.mp4")
        false += len(found)
        print(f"talking from frame {onset}, {amplitude:g} px: reported {[(e.onset_index, e.offset_index) for e in found]}, "
              f"left out as speech {len(engine.stats.speech)}", flush=True)
print(f"false intervals in 12 clips that start mid-sentence: {false}")
