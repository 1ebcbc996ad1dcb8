import sys, numpy as np, cv2
from frl_core import synth
from frl_core.faces import FaceTracker, align_face
from frl_core.faces.tracking import alignment_matrix
from frl_core.faces.head_pose import face_depth, OUTER_EYE_CORNERS_MM
from frl_core.faces.au_regions import TEMPLATE_68
from frl_core.spotting import MotionModel, SpotterConfig
seed = int(sys.argv[1]) if len(sys.argv) > 1 else 8
seq = synth.render_sequence(None, fps=30, size=(640, 480), events=[synth.micro_event(300, 30, "smile", 1.2)],
                            seed=seed, n_frames=480,
                            head_motion=synth.HeadMotion(translation=1.5, rotation_deg=0.3, turn_deg=(5.0, 5.0), turn_periods_s=(4.0, 5.0)))
tr = FaceTracker(); al = []; lms = []
for f in seq.frames:
    g = cv2.cvtColor(f, cv2.COLOR_BGR2GRAY); obs, _ = tr.update(g)
    M = alignment_matrix(obs.landmarks, 224)
    al.append(align_face(g, obs.landmarks, 224, matrix=M))
    lms.append(np.c_[obs.landmarks, np.ones(68)] @ M.T)
m = MotionModel(SpotterConfig())
s = m.size
mm_per_side = OUTER_EYE_CORNERS_MM / float(np.linalg.norm(TEMPLATE_68[45] - TEMPLATE_68[36]))
canon_pd, canon_bd = m.pixel_depth.copy(), m.block_depth.copy()
def set_depth(lm224):
    pd = np.ascontiguousarray(face_depth(lm224 * s / 224, s, s) / np.float32(mm_per_side), np.float32)
    at = np.clip(np.round(m.centres - 0.5).astype(int), 0, s - 1)
    m.pixel_depth = pd; m.block_depth = pd[at[:, 1], at[:, 0]].astype(np.float64)
print("canon range", canon_pd.min(), canon_pd.max()); set_depth(np.asarray(TEMPLATE_68)*224); print("check", np.abs(m.pixel_depth-canon_pd).max())
res = []
for a in range(30, 420, 20):
    b = a + 60
    A, B = m.prepare(al[a]), m.prepare(al[b])
    m.pixel_depth, m.block_depth = canon_pd, canon_bd
    s0 = m.score(A, B)
    set_depth((lms[a] + lms[b]) / 2)
    s1 = m.score(A, B)
    set_depth(lms[a])
    s2 = m.score(A, B)
    off = MotionModel(SpotterConfig(head_turn=False)); s3 = off.score(A, B)
    res.append((s0, s1, s2, s3)); print(a, b, "canonical %.3f  pair's landmarks %.3f  ref's %.3f  turns in %.3f" % (s0, s1, s2, s3))
print("mean", np.mean(res, 0))
