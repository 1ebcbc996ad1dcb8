import sys
from frl_core import synth
from frl_core.spotting import SpotterConfig
from frl_core.benchmarks.generated import spot_sequence
for seed in range(int(sys.argv[1]), int(sys.argv[2])):
    seq = synth.render_sequence(None, fps=30, size=(640, 480), events=[], seed=seed, n_frames=300,
                                head_motion=synth.HeadMotion(translation=1.5, rotation_deg=0.3, turn_deg=(4.0, 4.0), turn_periods_s=(5.0, 6.0)))
    r = []
    for on in (True, False):
        r.append([(e.onset_index, e.offset_index, e.kind) for e in spot_sequence(seq, spotter_config=SpotterConfig(macro_full_window_history=on))])
    print(seed, "rule", r[0], "without", r[1], flush=True)
