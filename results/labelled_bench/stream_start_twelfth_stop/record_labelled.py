"""Record the spotter's input (aligned faces per frame) of encoded labelled sequences, once, for replay
(twelfth stop; a quality per codec and a face scale since the fifteenth).
usage: record_labelled.py NAME SEED FPS FACES CODEC[:CRF],... [FACE_SCALE [NOISE]]
  -> $REC_DIR (default /tmp/s12/rec)/NAME_<codec><crf>_<face>_<seed>.npz (NOISE: the sensor noise's factor, since the
  seventeenth stop; $EXPOSURE_STEPS: steps of a webcam's automatic exposure per sequence, and
  $FACE_CONFIG=key=value,...: tracker settings, since the nineteenth)"""
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from spotter_input import record_sequences  # noqa: E402  (patches the spotter before the engine imports it)

from frl_core.benchmarks.generated import benchmark_faces  # noqa: E402
from frl_core.paths import default_data_root  # noqa: E402
from frl_core.synth.labelled import labelled_sequence  # noqa: E402

name, seed0, fps, nfaces = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
face_scale = float(sys.argv[6]) if len(sys.argv) > 6 else 1.0
noise = float(sys.argv[7]) if len(sys.argv) > 7 else 1.0
steps = int(os.environ.get("EXPOSURE_STEPS", "0"))
faces = benchmark_faces(default_data_root(), nfaces)
per_face = max(1, 10 // len(faces))
seqs = [(fn, labelled_sequence(img, seed0 + 1000 * f + k, fps=fps, face_height=(0.9 if fn == "astronaut" else 0.55) * face_scale,
                               noise_scale=noise, exposure_steps=steps))
        for f, (fn, img) in enumerate(faces) for k in range(per_face)]
record_sequences(seqs, sys.argv[5], Path(os.environ.get("REC_DIR", "/tmp/s12/rec")), name)
