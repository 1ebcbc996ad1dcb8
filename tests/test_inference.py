"""The engine's recogniser: batched pairs of any size in, labels, probabilities and displacements out."""

import numpy as np
import pytest
import torch

from frl_core.models import create_model
from frl_core.models import inference
from frl_core.models.checkpoint import CheckpointError, save_checkpoint
from frl_core.models.inference import DeviceError, Recognizer


def faces(n, seed=0, size=(90, 80)):
    rng = np.random.default_rng(seed)
    return [(rng.integers(0, 256, size, dtype=np.uint8), rng.integers(0, 256, size, dtype=np.uint8))
            for _ in range(n)]


def test_recognize_batches_any_face_size_into_results():
    torch.manual_seed(0)
    rec = Recognizer.from_model(create_model("frl_dgt_small", img_size=64), device="cpu")
    assert rec.device_name == "CPU" and rec.input_size == 64
    assert rec.class_names == ("negative", "positive", "surprise")
    pairs = faces(5) + faces(2, seed=1, size=(40, 40))
    results = rec.recognize(pairs)
    assert len(results) == 7
    for r, (onset, _) in zip(results, pairs):
        assert r.label in rec.class_names
        assert set(r.probabilities) == set(rec.class_names)
        assert sum(r.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
        assert r.label == max(r.probabilities, key=r.probabilities.get)
        # in pixels of the faces as registered: non-square faces are brought to 224 x 224 first
        side = onset.shape[0] if onset.shape[0] == onset.shape[1] else 224
        assert r.displacement.shape == (2, side, side) and r.displacement.dtype == np.float32
    square = rec.recognize([(np.full((96, 96), 120, np.uint8), np.full((96, 96), 121, np.uint8))])[0]
    assert square.displacement.shape == (2, 96, 96)
    one_by_one = [rec.recognize([p])[0] for p in pairs[:3]]
    for a, b in zip(results[:3], one_by_one):
        assert a.probabilities == pytest.approx(b.probabilities, abs=1e-5)
    assert rec.recognize([]) == []


def test_from_checkpoint_uses_the_saved_class_names(tmp_path):
    names = ("anger", "happiness", "contempt", "surprise", "other")
    model = create_model("frl_dgt_small", img_size=48, num_classes=5, class_names=names)
    path = save_checkpoint(model, tmp_path / "samm.pt", metadata={})
    rec = Recognizer.from_checkpoint(path, device="cpu")
    assert rec.class_names == names and rec.input_size == 48
    assert rec.recognize(faces(1))[0].label in names


def test_missing_default_weights_say_how_to_make_them(tmp_path, monkeypatch):
    monkeypatch.setattr(inference, "default_checkpoint_path", lambda: tmp_path / "frl_dgt_live.pt")
    with pytest.raises(FileNotFoundError, match="not there yet") as info:
        Recognizer.from_checkpoint(None, device="cpu")
    assert isinstance(info.value, CheckpointError)
    assert info.value.filename == str(tmp_path / "frl_dgt_live.pt")


def test_flow_models_and_bad_inputs_are_refused():
    with pytest.raises(CheckpointError, match="flow-mode"):
        Recognizer.from_model(create_model("frl_dgt_small", input_mode="flow"))
    rec = Recognizer.from_model(create_model("frl_dgt_small", img_size=48), device="cpu")
    with pytest.raises(ValueError, match="uint8"):
        rec.recognize([(np.zeros((48, 48), np.float32), np.zeros((48, 48), np.float32))])
    with pytest.raises(DeviceError, match="unknown device"):
        Recognizer.from_model(create_model("frl_dgt_small"), device="tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_asking_for_cuda_without_a_gpu_is_a_clear_error():
    with pytest.raises(DeviceError, match="no CUDA GPU"):
        Recognizer.from_model(create_model("frl_dgt_small"), device="cuda")
    assert Recognizer.from_model(create_model("frl_dgt_small"), device="auto").device_name == "CPU"


def test_shipped_pair_model_sees_the_real_casme2_motion_grow(data_root):
    """On the real CASME II onset->apex sequence, the displacement from the first frame grows frame by frame."""
    import cv2

    from frl_core.models.inference import Recognizer

    folder = data_root / "sequences" / "casme2_sub_clip_resampled"
    frames = [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in sorted(folder.glob("*.jpg"))]
    assert len(frames) == 10
    recognizer = Recognizer.from_checkpoint(None, "cpu")
    results = recognizer.recognize([(frames[0], f) for f in frames[1:]])
    mean_motion = [float(np.sqrt((r.displacement**2).sum(0)).mean()) for r in results]
    assert all(b > a for a, b in zip(mean_motion, mean_motion[1:])), mean_motion
    assert mean_motion[-1] > 3 * mean_motion[0]
