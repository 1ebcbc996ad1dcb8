"""The talking test scene at 25 and 60 fps: 30 varied syllables from 2 s, a 2 px brow raise, smile or lip-corner
depressor at 6.67 s mid-sentence, bundled face, mp4v; prints the movement's frames, the intervals found and whether
the movement is matched (MEGC IoU >= 0.5).

    PYTHONPATH=. python results/speech_thirty_fourth_stop/scene_25_60fps.py
"""
import tempfile
from pathlib import Path
from frl_core import synth
from frl_core.spotting.megc_metric import match_intervals
from tests.scenes import spot_encoded, talking
tmp = Path(tempfile.mkdtemp())
for fps in (25.0, 60.0):
    for movement in ("brow_raise", "smile", "lip_corner_depressor"):
        talk = talking(round(2 * fps), fps, syllables=30, amplitude=6.0, lips="varied")
        mv = synth.micro_event(round(6.67 * fps), fps, movement, 2.0)
        seq = synth.render_sequence(None, fps=fps, size=(640, 480), events=[*talk, mv], seed=4,
                                    n_frames=talk[-1].offset + round(3 * fps),
                                    head_motion=synth.HeadMotion(translation=1.5, rotation_deg=0.3))
        spotted, _ = spot_encoded(seq, tmp / f"t_{fps}_{movement}.mp4")
        found = [(e.onset_index, e.offset_index) for e in spotted]
        print(fps, movement, (mv.onset, mv.apex, mv.offset), found, bool(match_intervals([(mv.onset, mv.offset)], found)), flush=True)
