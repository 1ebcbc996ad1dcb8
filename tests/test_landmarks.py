"""The compiled 68-point predictor: dlib's landmarks from dlib's model file, and clear errors on a bad file."""

import dlib
import numpy as np
import pytest

from frl_core import synth
from frl_core.faces.tracking import FaceConfig, FaceModelError, FaceTracker, face_models, to_gray
from frl_core.faces.landmarks import LandmarkModelFormatError, ShapePredictor
from frl_core.paths import landmark_model_path


@pytest.fixture(scope="module")
def predictors():
    _, compiled = face_models("compiled")
    _, reference = face_models("dlib")
    return compiled, reference


def _dlib_points(predictor, gray, box):
    shape = predictor(gray, dlib.rectangle(*box))
    return np.array([(p.x, p.y) for p in shape.parts()], float)


def test_same_landmarks_as_dlib_on_a_moving_face(predictors):
    compiled, reference = predictors
    seq = synth.render_sequence(None, n_frames=30, seed=5, head_motion=synth.HeadMotion(translation=8.0))
    tracker = FaceTracker(FaceConfig(landmark_every_n=1))
    compared = 0
    for frame in seq.frames:
        gray = to_gray(frame)
        obs, _ = tracker.update(gray)
        box = tuple(int(round(v)) for v in obs.box)
        ours = compiled.predict(gray, box)
        assert np.array_equal(np.floor(ours + 0.5), _dlib_points(reference, gray, box))
        # Unrounded: within half a pixel of dlib's whole-pixel points.
        assert np.abs(ours - _dlib_points(reference, gray, box)).max() <= 0.5
        compared += 1
    assert compared == 30


def test_same_landmarks_as_dlib_on_a_box_beyond_the_frame(predictors):
    # The whole-frame fallback hands the predictor a box larger than a tight face crop.
    compiled, reference = predictors
    gray = to_gray(synth.render_sequence(None, n_frames=1, seed=1).frames[0])[100:380, 180:460].copy()
    h, w = gray.shape
    box = (int(-0.138 * w), int(-0.138 * h), int(0.964 * w), int(0.969 * h))
    assert np.array_equal(compiled.predict(gray, box, round_to_pixels=True), _dlib_points(reference, gray, box))


def test_same_landmarks_as_dlib_on_a_real_casme2_frame(predictors, data_root):
    import cv2

    compiled, reference = predictors
    frames = sorted((data_root / "sequences").rglob("*.jpg"))
    assert frames
    gray = cv2.imread(str(frames[0]), cv2.IMREAD_GRAYSCALE)
    box = tuple(int(v) for v in FaceTracker(FaceConfig(whole_frame_fallback=True)).update(gray)[0].box)
    assert np.array_equal(compiled.predict(gray, box, round_to_pixels=True), _dlib_points(reference, gray, box))


def test_bad_image_is_a_clear_error(predictors):
    compiled, _ = predictors
    with pytest.raises(ValueError, match="uint8"):
        compiled.predict(np.zeros((64, 64), np.float32), (0, 0, 63, 63))


def test_truncated_or_foreign_model_file_is_a_clear_error(tmp_path):
    head = landmark_model_path().read_bytes()[:100_000]
    truncated = tmp_path / "truncated.dat"
    truncated.write_bytes(head)
    with pytest.raises(LandmarkModelFormatError, match="ends early"):
        ShapePredictor(truncated)
    foreign = tmp_path / "foreign.dat"
    foreign.write_bytes(b"\x01\x02not a shape predictor" * 10)
    with pytest.raises(LandmarkModelFormatError):
        ShapePredictor(foreign)


def test_unknown_backend_is_refused():
    with pytest.raises(ValueError, match="landmark_backend"):
        FaceTracker(FaceConfig(landmark_backend="mediapipe"))


def test_missing_model_file_is_a_face_model_error(tmp_path, monkeypatch):
    import frl_core.faces.tracking as faces

    monkeypatch.setattr(faces, "_MODELS", {})
    monkeypatch.setattr(faces, "landmark_model_path", lambda: tmp_path / "missing.dat")
    with pytest.raises(FaceModelError, match="missing.dat"):
        faces.face_models("compiled")
