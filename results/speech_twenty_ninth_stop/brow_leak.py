"""How much a syllable moves the brow regions, against a brow raise and a still face (clean render, no noise).

    PYTHONPATH=. python results/speech_twenty_ninth_stop/brow_leak.py

Each movement is rendered alone on the bundled face with gentle head drift and roll; the spotter's residual motion
per AU region is read between a neutral frame and the apex, as the speech filter reads it. Output of the
twenty-ninth stop: the brow regions 0.04-0.08 px for syllables of 3-12 px and for a still face, 0.80-0.85 for a
1.5 px brow raise.
"""
from frl_core import synth
from frl_core.benchmarks.generated import spot_sequence
from frl_core.faces.au_regions import REGION_NAMES
from frl_core.spotting import SpotterConfig, streaming
from frl_core.synth.render import SyntheticEvent

seen = {}
push = streaming.StreamingSpotter._push_prepared


def keep_faces(self, index, face):
    seen.setdefault("spotter", self)
    seen.setdefault("faces", {})[index] = face
    return push(self, index, face)


streaming.StreamingSpotter._push_prepared = keep_faces
movements = [(f"syllable AU25+26 {px} px", SyntheticEvent(60, 64, 70, "open_smile", px, action_units=("AU25", "AU26")))
             for px in (12.0, 6.0, 3.0)]
movements += [("brow raise 1.5 px", SyntheticEvent(60, 64, 70, "brow_raise", 1.5)), ("still", None)]
for name, event in movements:
    seen.clear()
    seq = synth.render_sequence(None, fps=30, size=(640, 480), events=[event] if event else [], seed=4, n_frames=100,
                                head_motion=synth.HeadMotion(translation=1.5, rotation_deg=0.3))
    spot_sequence(seq, spotter_config=SpotterConfig(speech_train=0))
    spotter, faces = seen["spotter"], seen["faces"]
    _, regions = spotter.model.score_and_regions(faces[55], faces[64], spotter.micro.weights)
    print(f"{name:24s}", "  ".join(f"{n} {r:.2f}" for n, r in zip(REGION_NAMES, regions)))
