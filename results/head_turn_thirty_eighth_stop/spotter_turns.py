"""The spotter's score for a pair of the aligned astronaut face, a movement and the head turned in depth, with
SpotterConfig(head_turn=True) and by default. Run from the repository root (it imports tests/test_registration)."""
import sys; sys.path.insert(0,'tests')
import numpy as np, cv2
from test_registration import _turned
from frl_core.faces import FaceConfig, FaceTracker, align_face
from frl_core.synth import DEFAULT_FACE
from frl_core.faces.action_units import au_field
from frl_core.faces.au_regions import TEMPLATE_68
from frl_core.spotting.config import SpotterConfig
from frl_core.spotting.motion import MotionModel
image = cv2.imread(str(DEFAULT_FACE), cv2.IMREAD_GRAYSCALE)
obs, _ = FaceTracker(FaceConfig(detect_width=image.shape[1], smoothing=0.0)).update(image)
face = align_face(image, obs.landmarks, 224)
on, off = MotionModel(SpotterConfig(head_turn=True)), MotionModel(SpotterConfig())
for aus in [(), ("AU12",), ("AU15",), ("AU17",), ("AU1", "AU2"), ("AU4",), ("AU10",)]:
    for yaw, pitch in ((0,0),(1,0),(0,1),(2,-1),(3,3)):
        local = au_field(TEMPLATE_68 * 224, aus, 224, 224) * 1.0 if aus else np.zeros((2,224,224), np.float32)
        apex = _turned(face, yaw, pitch, 1.0, local)
        s = [m.score(m.prepare(face), m.prepare(apex)) for m in (on, off)]
        print(f"{'+'.join(aus) or 'none':8s} {yaw:3d} {pitch:3d}  on {s[0]:.3f} off {s[1]:.3f}")
