"""Registration on the aligned astronaut face: a movement, the head turned in depth (a face 0.7 / 1.3 times the
generic depth, nose moved a few mm, landmarks 3 % wider), a shift: the DIS flow left after registration against
the movement, with the turn taken out and with the similarity alone, and the turn it reports. PYTHONPATH=."""
import cv2, numpy as np, sys
from frl_core.faces import FaceConfig, FaceTracker, align_face
from frl_core.faces.head_pose import canonical_depth, face_depth, GENERIC_FACE_3D
from frl_core.faces.au_regions import TEMPLATE_68
from frl_core.faces.action_units import au_field
from frl_core.motion.registration import register, estimate_global_motion
from frl_core.synth import DEFAULT_FACE
from frl_core.motion.flow_image import dis_flow
image = cv2.imread(str(DEFAULT_FACE), cv2.IMREAD_GRAYSCALE)
obs, _ = FaceTracker(FaceConfig(detect_width=image.shape[1], smoothing=0.0)).update(image)
face = align_face(image, obs.landmarks, 224)
ys, xs = np.mgrid[0:224, 0:224].astype(np.float32)
mm_per_side = 90.0 / float(np.linalg.norm(TEMPLATE_68[45] - TEMPLATE_68[36]))
def warp(img, field):
    field = field.astype(np.float32)
    return cv2.remap(img, xs - field[0], ys - field[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
rng = np.random.default_rng(0)
print("aus          yaw pitch  depthx | err_region(with turn) err(no turn) | yaw_est pitch_est")
for aus, amp in ((("AU12",), 2.0), (("AU4",), 1.5), (("AU1","AU2"), 2.0), (("AU17",), 1.5), (("AU15",), 1.5), ((), 0.0)):
    for yaw, pitch in ((0, 0), (3, 0), (0, 3), (-4, 2)):
        for dscale in (0.7, 1.3):
            # the person's depth: generic times dscale, nose deeper by a random few mm, at this face's own landmarks
            depth_mm = GENERIC_FACE_3D[:, 2] * dscale
            depth_mm[27:36] += rng.uniform(-5, 5)
            lm = obs.landmarks  # not used: render in aligned space
            z = face_depth(TEMPLATE_68 * 224 * (1 + rng.uniform(-0.03, 0.03)), 224, 224, depth_mm) / mm_per_side * 224
            turn = np.stack([np.radians(yaw) * z, -np.radians(pitch) * z])
            expr = au_field(TEMPLATE_68 * 224, aus, 224, 224) * amp if aus else np.zeros((2, 224, 224), np.float32)
            shift = np.stack([np.full_like(xs, 1.0), np.full_like(xs, -0.7)])
            apex = warp(face, expr + turn + shift)
            res = []
            for t in (True, False):
                reg, mo = register(face, apex, turn=t)
                fl = dis_flow(face, reg)
                inner = (slice(30, 200), slice(25, 199))
                err = np.sqrt(((fl - expr)[:, inner[0], inner[1]] ** 2).sum(0)).mean()
                res.append((err, mo.yaw_deg, mo.pitch_deg))
            print(f"{'+'.join(aus) or 'none':10s} {yaw:4d} {pitch:4d}  {dscale:.1f}  | {res[0][0]:.3f}  {res[1][0]:.3f} | {res[0][1]:6.2f} {res[0][2]:6.2f}")
