"""A 25 s clip of the bundled face talking (90 varied syllables from frame 30) with a 2 px brow raise at frame 300,
30 fps, mp4v, for timing `analyze` while talking.

    PYTHONPATH=. python results/speech_thirty_fifth_stop/talking_clip.py OUT.mp4
    python main.py analyze OUT.mp4 --no-png --no-progress
"""
import sys

import cv2

from frl_core import synth
from tests.scenes import talking

talk = talking(30, 30, syllables=90, amplitude=6.0, lips="varied")
brow = synth.micro_event(300, 30, "brow_raise", 2.0)
seq = synth.render_sequence(None, fps=30, size=(640, 480), events=[*talk, brow], seed=4, n_frames=talk[-1].offset + 90,
                            head_motion=synth.HeadMotion(translation=1.5, rotation_deg=0.3))
writer = cv2.VideoWriter(sys.argv[1], cv2.VideoWriter_fourcc(*"mp4v"), 30, seq.size)
for frame in seq.frames:
    writer.write(frame)
writer.release()
print(f"{seq.n_frames} frames, talking to frame {talk[-1].offset}")
