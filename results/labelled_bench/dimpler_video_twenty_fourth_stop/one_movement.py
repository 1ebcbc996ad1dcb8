"""One movement alone on video: the labelled benchmark's scenes (five faces, two seeds each, four events a
sequence: drift, roll, light, noise, blinks) with every event the named movement, analysed after each encoding
(``h264:0`` is lossless H.264) and read from the true onset and apex as `synth bench --labelled` reads them.

    PATH=<ffmpeg with libx264>:$PATH PYTHONPATH=. python one_movement.py dimpler h264:0,mp4v,h264 [WEIGHTS]

WEIGHTS: a live file other than the shipped one (twenty-fifth stop).
"""
import sys
import tempfile
from pathlib import Path

import frl_core.synth.labelled as labelled
from frl_core.benchmarks.generated import benchmark_faces, evaluate_recognition
from frl_core.paths import default_data_root

movement = sys.argv[1]
codecs = sys.argv[2].split(",")
weights = sys.argv[3] if len(sys.argv) > 3 else None
labelled.LABELLED_EXPRESSIONS = {"negative": (movement,), "positive": (movement,), "surprise": (movement,)}
sequences = [(name, labelled.labelled_sequence(image, 24000 + 100 * k + s, n_events=4))
             for k, (name, image) in enumerate(benchmark_faces(default_data_root(), 5)) for s in (0, 1)]
with tempfile.TemporaryDirectory() as work:
    for codec in codecs:
        name, _, crf = codec.partition(":")
        report = evaluate_recognition(sequences, name, Path(work), weights=weights, crf=int(crf) if crf else None)
        print(f"{movement} {codec}: from the true onset and apex {report.truth_label_correct}/{report.truth_pairs} "
              f"right ({report.truth_uncertain} uncertain); spotted {report.true_positives}/{report.ground_truth}, "
              f"{report.label_correct} of those right", flush=True)
        for line in report.lines:
            print("   ", line)
