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


@pytest.mark.slow
def test_shipped_live_path_measures_the_real_casme2_motion_as_tv_l1_does(data_root):
    """The real CASME II sequence, registered pair by pair: the DGM's displacement follows TV-L1 inside the
    AU regions about as closely as a second classical flow (DIS) does, at the same magnitude, and it is
    strongest at the mouth corners (the clip is a positive micro-expression)."""
    from frl_core.models.checkpoint import load_checkpoint
    from frl_core.training.dgm_train import sequence_agreement

    model, _ = load_checkpoint(inference.default_checkpoint_path())
    agreement = sequence_agreement(model, data_root, int(model.config.img_size))
    correlations = [row["correlation"] for row in agreement["pairs"]]
    assert np.mean(correlations) > 0.6 and min(correlations) > 0.45, correlations
    assert np.mean(correlations) > agreement["mean_dis_tvl1_correlation"] - 0.1, agreement
    for row in agreement["pairs"]:
        assert 0.5 < row["dgm_mean_px"] / row["tvl1_mean_px"] < 2.0, row


def test_the_network_and_optical_flow_give_one_unit_for_a_smile_with_head_drift():
    """A 2 px smile on a real face photo, with head drift and roll between onset and apex: registration
    removes the drift, and the live path's DGM and the no-network flow both put the motion at the mouth
    corners at about the same magnitude (pixels of the 224-pixel aligned face)."""
    import cv2

    from frl_core.faces.action_units import au_field
    from frl_core.faces.au_regions import TEMPLATE_68
    from frl_core.engine import flow_displacement
    from frl_core.faces import FaceConfig, FaceTracker, align_face
    from frl_core.synth import DEFAULT_FACE
    from frl_core.viz import region_magnitudes

    image = cv2.imread(str(DEFAULT_FACE), cv2.IMREAD_GRAYSCALE)
    obs, _ = FaceTracker(FaceConfig(detect_width=image.shape[1], smoothing=0.0)).update(image)
    onset = align_face(image, obs.landmarks, 224)
    smile = au_field(TEMPLATE_68 * 224, ("AU12",), 224, 224) * 2.0
    ys, xs = np.mgrid[0:224, 0:224].astype(np.float32)
    apex = cv2.remap(onset, xs - smile[0], ys - smile[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    drift = cv2.getRotationMatrix2D((111.5, 111.5), 1.0, 1.01)
    drift[:, 2] += (1.5, 1.0)
    apex = cv2.warpAffine(apex, drift, (224, 224), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)
    live = Recognizer.from_checkpoint(None, "cpu").recognize([(onset, apex)])[0]
    flow, _, _ = flow_displacement(onset, apex)
    by_network, by_flow = region_magnitudes(live.displacement), region_magnitudes(flow)
    for regions in (by_network, by_flow):
        assert max(regions, key=regions.get) in ("right_mouth_corner", "left_mouth_corner"), regions
        assert regions["right_brow_eye"] < 0.3 and regions["left_brow_eye"] < 0.3, regions
    for name in ("right_mouth_corner", "left_mouth_corner"):
        assert by_network[name] == pytest.approx(by_flow[name], rel=0.3)
