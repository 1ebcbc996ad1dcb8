"""The live path: DGM -> rendered flow image -> a flow-trained trunk, calibrated, with an uncertain outcome."""

import cv2
import numpy as np
import pytest
import torch

from frl_core.models import create_model
from frl_core.models.frl_dgt import mirror_flow_image, render_flow_image
from frl_core.models.inference import UNCERTAIN, InferenceSettings, Recognizer
from frl_core.training.live_path import assemble, realigned


def models(seed: int = 0):
    torch.manual_seed(seed)
    trunk = create_model("frl_dgt_small", input_mode="flow", motion_size=28, flow_zero="median").eval()
    dgm = create_model("frl_dgt_small", input_mode="pair", img_size=112, motion_encoding="flow_image",
                       dgm_features_to_trunk=False, motion_size=28, flow_zero="median", dgm_init_std=0.05).eval()
    return dgm, trunk


def textured_face(size=224, seed=3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.normal(0, 1, (size, size)).astype(np.float32), (0, 0), 3)
    return np.clip(128 + 60 * noise / noise.std(), 0, 255).astype(np.uint8)


def test_the_assembled_model_reads_the_rendered_displacement_as_the_trunk_reads_a_flow_image():
    dgm, trunk = models()
    live = assemble(dgm, trunk)
    onset = torch.rand(2, 1, 112, 112)
    apex = torch.rand(2, 1, 112, 112)
    with torch.no_grad():
        out = live.forward_features(onset, apex)
        direct = live.forward_head(out["features"])
        displacement, _ = dgm.dgm(onset, apex)
        via_trunk = trunk(render_flow_image(displacement))
    assert torch.allclose(direct, via_trunk, atol=1e-5)
    assert torch.allclose(out["flow_image"], render_flow_image(displacement))


def test_probabilities_are_tempered_and_mirror_averaged_and_a_low_top_gives_uncertain():
    dgm, trunk = models(1)
    live = assemble(dgm, trunk)
    face = textured_face()
    settings = InferenceSettings(temperature=2.0, uncertain_below=0.0, tta_hflip=True, register=False)
    rec = Recognizer(live, "cpu", settings=settings).recognize([(face, np.roll(face, 1, axis=1))])[0]
    onset = torch.from_numpy(cv2.resize(face, (112, 112), interpolation=cv2.INTER_AREA).astype(np.float32) / 255)[None, None]
    apex = torch.from_numpy(cv2.resize(np.roll(face, 1, axis=1), (112, 112), interpolation=cv2.INTER_AREA)
                            .astype(np.float32) / 255)[None, None]
    with torch.no_grad():
        out = live.forward_features(onset, apex)
        a = torch.softmax(live.forward_head(out["features"]) / 2.0, 1)
        b = torch.softmax(live.forward_flow_image(mirror_flow_image(out["flow_image"])) / 2.0, 1)
    expected = ((a + b) / 2)[0].numpy()
    assert np.allclose([rec.probabilities[c] for c in live.class_names], expected, atol=1e-5)
    sure = Recognizer(live, "cpu", settings=InferenceSettings(uncertain_below=0.99, register=False))
    unsure = sure.recognize([(face, np.roll(face, 1, axis=1))])[0]
    assert unsure.label == UNCERTAIN and unsure.top_class in live.class_names
    assert abs(sum(unsure.probabilities.values()) - 1.0) < 1e-5


def test_displacement_comes_back_in_pixels_of_the_faces_given_and_head_motion_is_reported():
    dgm, trunk = models(2)
    live = assemble(dgm, trunk)
    face = textured_face()
    m = np.float32([[1, 0, 1.5], [0, 1, -1.0]])
    shifted = cv2.warpAffine(face, m, (224, 224), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                             borderMode=cv2.BORDER_REFLECT101)
    rec = Recognizer(live, "cpu").recognize([(face, shifted)])[0]
    assert rec.displacement.shape == (2, 224, 224)
    assert rec.head_motion["dx_px"] == pytest.approx(-1.5, abs=0.1)
    assert rec.head_motion["dy_px"] == pytest.approx(1.0, abs=0.1)
    inner = (slice(20, 204), slice(20, 204))
    assert np.abs(rec.registered_apex[inner].astype(float) - face[inner]).mean() < 3.0
    assert rec.flow_image.shape == (28, 28, 3) and rec.flow_image.dtype == np.uint8


def test_inference_settings_from_a_checkpoint_are_checked():
    assert InferenceSettings.from_metadata({}).temperature == 1.0
    got = InferenceSettings.from_metadata({"inference": {"temperature": 1.5, "uncertain_below": 0.5,
                                                         "tta_hflip": True}})
    assert (got.temperature, got.uncertain_below, got.tta_hflip, got.register) == (1.5, 0.5, True, True)
    from frl_core.models.checkpoint import CheckpointError

    for bad in ({"temperature": float("nan")}, {"temperature": 0}, {"uncertain_below": 2}, {"temperature": "x"}):
        with pytest.raises(CheckpointError):
            InferenceSettings.from_metadata({"inference": bad})


def test_landmark_noise_realignment_moves_the_face_by_about_a_pixel():
    face = textured_face()
    moved = realigned(face, np.random.default_rng(0), 1.0)
    from frl_core.motion.registration import estimate_global_motion

    motion = estimate_global_motion(face, moved)
    assert 0.05 < np.hypot(*motion.translation) < 2.0
