"""A smile at increasing delays after 20 syllables of talking: from what delay is it kept, not taken for talking?

    PYTHONPATH=. python results/speech_twenty_ninth_stop/smile_after_talking.py

The talking is the tests' scene (`tests/scenes.py` `talking`, 2.5 and 4 px); the delay is from the last syllable's
offset to the smile's onset, at 30 fps. Output of the twenty-ninth stop: left out at 0.5 and 0.6 s, kept from
0.7 s, at both amplitudes.
"""
from frl_core import synth
from frl_core.benchmarks.generated import spot_sequence
from tests.scenes import talking

for amplitude in (2.5, 4.0):
    for delay in (15, 18, 21, 24, 30):
        talk = talking(60, 30, syllables=20, amplitude=amplitude)
        end = talk[-1].offset
        smile = synth.micro_event(end + delay, 30, "smile", 3.0)
        seq = synth.render_sequence(None, fps=30, size=(640, 480), events=[*talk, smile], seed=4, n_frames=end + 120,
                                    head_motion=synth.HeadMotion(translation=1.5, rotation_deg=0.3))
        found = [(e.onset_index, e.offset_index) for e in spot_sequence(seq)]
        kept = any(a <= smile.apex <= b for a, b in found)
        print(f"talking {amplitude} px, smile starting {(smile.onset - end) / 30:.2f} s after the last syllable: "
              f"{'kept' if kept else 'left out'}; intervals {found}")
