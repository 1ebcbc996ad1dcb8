"""Alignment error (px of the 224-px face; mean / 95th percentile over 120 frames at 30 fps) of a head shaken
from side to side, by the landmark flow's pyramid levels and window, searching from where the flow left each point or from
where the head's last motion takes it (predicted) (twentieth stop, issue 17).
usage: PYTHONPATH=. python shake_levels.py"""
import numpy as np

from frl_core import synth
from frl_core.benchmarks.generated import benchmark_faces
from frl_core.benchmarks.tracking import tracked_errors
from frl_core.faces import FaceConfig, tracking
from frl_core.paths import default_data_root

faces = benchmark_faces(default_data_root(), 2)
variants = [(1, 11, False), (2, 11, False), (3, 11, False), (2, 15, False), (1, 11, True), (2, 11, True)]
for amp, periods in ((30, (1.2, 0.9)), (60, (0.8, 0.5))):
    motion = synth.HeadMotion(translation=amp, rotation_deg=8.0, scale=0.05, periods_s=periods)
    at = [motion.at(i / 30.0)[:2] for i in range(120)]
    speed = max(float(np.hypot(*np.subtract(b, a))) for a, b in zip(at, at[1:]))
    for name, img in faces:
        seq = synth.render_sequence(img, fps=30.0, n_frames=120, seed=1, head_motion=motion, face_height=0.5)
        alone = np.array(tracked_errors(seq, 0, 120, FaceConfig(predictor_gain=1.0)))
        out = [f"predictor alone {np.nanmean(alone):.2f}/{np.nanpercentile(alone, 95):.2f}"]
        for levels, win, predict in variants:
            tracking.FaceTracker._FLOW_WINDOW = (win, win)
            e = np.array(tracked_errors(seq, 0, 120, FaceConfig(flow_levels=levels, flow_prediction=predict)))
            out.append(f"levels {levels} window {win}{' predicted' if predict else ''}: "
                       f"{np.nanmean(e):.2f}/{np.nanpercentile(e, 95):.2f}")
        tracking.FaceTracker._FLOW_WINDOW = (11, 11)
        print(f"sway {amp} px (up to {speed:.1f} px a frame), {name}: " + " | ".join(out), flush=True)
