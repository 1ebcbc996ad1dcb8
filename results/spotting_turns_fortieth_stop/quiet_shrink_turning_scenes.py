# Needs quiet_turn_shrink.patch applied (SpotterConfig.quiet_turn_shrink_deg); seeds FIRST LAST
import sys, cv2
from frl_core import synth
from frl_core.faces import FaceTracker, align_face
from frl_core.spotting import SpotterConfig, StreamingSpotter
from frl_core.faces.au_regions import lip_opening

def aligned(seq):
    tr = FaceTracker(); out = []; lips = []
    for f in seq.frames:
        g = cv2.cvtColor(f, cv2.COLOR_BGR2GRAY)
        obs, _ = tr.update(g)
        out.append(align_face(g, obs.landmarks, 224) if obs is not None else None)
        lips.append(lip_opening(obs.landmarks) if obs is not None else None)
    return out, lips

def run(al, lips, cfg, fps=30):
    sp = StreamingSpotter(fps, cfg); found = []
    for i, (f, l) in enumerate(zip(al, lips)):
        found += sp.push(i, i / fps, f, l).intervals
    found += sp.flush()
    return [(iv.onset, iv.apex, iv.offset) for iv in found]

for seed in range(int(sys.argv[1]), int(sys.argv[2])):
    for kind, amp in (("smile", 1.5), ("brow_raise", 1.2), ("lip_corner_depressor", 1.5)):
        seq = synth.render_sequence(None, fps=30, size=(640, 480), events=[synth.micro_event(300, 30, kind, amp)],
                                    seed=seed, n_frames=480,
                                    head_motion=synth.HeadMotion(translation=1.5, rotation_deg=0.3, turn_deg=(5.0, 5.0),
                                                                 turn_periods_s=(4.0, 5.0)))
        al, lips = aligned(seq)
        res = []
        for q in (0.1, 0.4):
            f = run(al, lips, SpotterConfig(quiet_turn_shrink_deg=q))
            hit = any(on <= 305 <= off for on, _, off in f)
            res.append((hit, len(f) - hit))
        print(seed, kind, amp, "new hit/false", res[0], "old", res[1], flush=True)
