"""On a machine with a CUDA GPU: the recogniser there (float16 autocast, as the app runs it) shows the CPU's
labels. Skipped without a GPU (CI has none); it ran on a lent H200, and `bench recognizer` measures the same
on all 442 semi-synthetic pairs (results/gpu_h200/)."""

import numpy as np
import pytest
import torch

from frl_core.benchmarks.recognizer import compare, composite_pairs, verdicts
from frl_core.models.inference import Recognizer

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_the_gpu_shows_the_cpus_labels_on_real_face_pairs(data_root):
    pairs, _ = composite_pairs(data_root, 64)
    cpu = verdicts(Recognizer.from_checkpoint(device="cpu"), pairs)
    gpu = Recognizer.from_checkpoint(device="cuda")
    assert gpu.use_amp
    amp = compare(cpu, verdicts(gpu, pairs))
    assert amp["shown_same"] == 1.0 and amp["max_abs_dp"] < 0.02
    displacement = gpu.recognize(pairs[:1])[0].displacement
    assert displacement.dtype == np.float32 and np.isfinite(displacement).all()
