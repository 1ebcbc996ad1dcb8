"""Registration: the head motion between two faces is found and removed, local facial motion is kept."""

import cv2
import numpy as np
import pytest

from frl_core.motion.registration import estimate_global_motion, register, remove_global_motion
from frl_core.synth import DEFAULT_FACE


@pytest.fixture(scope="module")
def face() -> np.ndarray:
    from frl_core.faces import FaceConfig, FaceTracker, align_face

    image = cv2.imread(str(DEFAULT_FACE), cv2.IMREAD_GRAYSCALE)
    obs, _ = FaceTracker(FaceConfig(detect_width=image.shape[1], smoothing=0.0)).update(image)
    return align_face(image, obs.landmarks, 224)


def moved(face: np.ndarray, angle: float, scale: float, shift: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """The face under a known similarity (a 2x3 inverse map), and the map reference -> moving."""
    m = cv2.getRotationMatrix2D((111.5, 111.5), angle, scale)
    m[:, 2] += shift
    out = cv2.warpAffine(face, m, (224, 224), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                         borderMode=cv2.BORDER_REPLICATE)
    truth = np.linalg.inv(np.vstack([m, [0, 0, 1]]))[:2]
    return out, truth


def map_error(a: np.ndarray, b: np.ndarray) -> float:
    ys, xs = np.mgrid[32:192:8, 32:192:8]
    pts = np.stack([xs.ravel(), ys.ravel(), np.ones(xs.size)])
    return float(np.linalg.norm(a @ pts - b @ pts, axis=0).mean())


@pytest.mark.parametrize("angle,scale,shift", [(0.0, 1.0, (2.0, -1.5)), (1.5, 1.015, (-1.0, 2.5)),
                                               (-2.0, 0.985, (0.4, 0.3))])
def test_a_known_head_motion_is_recovered_to_a_tenth_of_a_pixel(face, angle, scale, shift):
    moving, truth = moved(face, angle, scale, shift)
    motion = estimate_global_motion(face, moving)
    assert map_error(motion.matrix, truth) < 0.1
    # the moving face is the reference turned clockwise on screen by `angle`
    assert motion.rotation_deg == pytest.approx(angle, abs=0.1)


def test_registration_keeps_a_smile_and_drops_the_drift(face):
    from frl_core.faces.action_units import au_field
    from frl_core.faces.au_regions import TEMPLATE_68

    smile = au_field(TEMPLATE_68 * 224, ("AU12",), 224, 224) * 2.0
    ys, xs = np.mgrid[0:224, 0:224].astype(np.float32)
    smiling = cv2.remap(face, xs - smile[0], ys - smile[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    drifted, truth = moved(smiling, 1.0, 1.01, (2.0, 1.0))
    registered, motion = register(face, drifted)
    assert map_error(motion.matrix, truth) < 0.15
    # after registration the only motion left is the smile: the cheeks and brows match the onset again
    brow = (slice(20, 60), slice(30, 194))
    assert np.abs(registered[brow].astype(float) - face[brow]).mean() < 0.5 * np.abs(
        drifted[brow].astype(float) - face[brow]).mean()
    mouth = (slice(150, 175), slice(50, 90))
    assert np.abs(registered[mouth].astype(float) - face[mouth]).mean() > 1.0


def test_remove_global_motion_takes_out_head_motion_and_keeps_a_local_one():
    """Head motion (a shift, 0.11 degrees of roll, 0.4 % of scale) goes; a mouth-corner movement stays; a
    vertical stretch of the face (what a brow raise nearly is) is not taken for head motion."""
    ys, xs = np.mgrid[0:224, 0:224].astype(np.float32)
    head = np.stack([0.8 + 0.004 * (xs - 112) - 0.002 * (ys - 112), -0.5 + 0.002 * (xs - 112) + 0.004 * (ys - 112)])
    blob = np.exp(-((xs - 70) ** 2 + (ys - 160) ** 2) / (2 * 12.0**2))
    local = np.stack([-blob, -blob]) * 1.5
    residual = remove_global_motion((head + local).astype(np.float32))
    assert np.abs(residual - local).max() < 0.05
    assert np.abs(remove_global_motion(head.astype(np.float32))).max() < 5e-3  # block centres sampled to a pixel
    stretch = np.stack([np.zeros_like(ys), -0.01 * np.clip(112 - ys, 0, None)])  # the upper face raised, up to 1.1 px
    kept = remove_global_motion(stretch.astype(np.float32))
    assert np.abs(kept[1, 20:60]).mean() > 0.3 * np.abs(stretch[1, 20:60]).mean()


@pytest.mark.parametrize("gain", [0.8, 0.9, 1.15])
def test_an_exposure_step_between_onset_and_apex_is_matched_before_registration(face, gain):
    """A webcam's automatic exposure can change between an onset and its apex: the apex comes back at the
    onset's brightness, and its head motion is recovered as without the step."""
    from frl_core.motion.registration import match_exposure

    darker = (face.astype(np.float32) * 0.8).astype(np.uint8)  # so that the brighter step does not clip
    moving, truth = moved(darker, 1.0, 1.01, (1.5, -1.0))
    stepped = np.clip(moving.astype(np.float32) * gain, 0, 255).astype(np.uint8)
    matched, applied = match_exposure(darker, stepped)
    assert applied == pytest.approx(1.0 / gain, rel=0.02)
    inner = (slice(20, 200), slice(20, 204))
    assert np.mean(matched[inner]) == pytest.approx(np.mean(moving[inner]), abs=1.0)
    registered, motion = register(darker, stepped)
    assert map_error(motion.matrix, truth) < 0.1
    assert np.abs(registered[inner].astype(float) - darker[inner]).mean() < 2.0
    assert match_exposure(darker, darker)[1] == 1.0  # the same exposure is left as it is


def test_the_recogniser_reads_a_pair_the_same_through_an_exposure_step(data_root):
    """The real CASME II clip, 001 -> 004, with the apex 13 % darker or 15 % brighter: the same label and
    probabilities within 0.03 (the DGM, trained on changes of a few percent, read such a step as motion)."""
    from frl_core.faces import FaceConfig, FaceTracker, align_face
    from frl_core.models.inference import Recognizer

    paths = sorted((data_root / "sequences" / "casme2_sub_clip_resampled").glob("*.jpg"))
    tracker = FaceTracker(FaceConfig(whole_frame_fallback=True))
    aligned = []
    for p in (paths[0], paths[3]):
        gray = cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
        obs, _ = tracker.update(gray)
        aligned.append(align_face(gray, obs.landmarks))
    onset, apex = aligned
    recognizer = Recognizer.from_checkpoint(device="cpu")
    plain = recognizer.recognize([(onset, apex)])[0]
    for gain in (0.87, 1.15):
        stepped = np.clip(apex.astype(np.float32) * gain, 0, 255).astype(np.uint8)
        seen = recognizer.recognize([(onset, stepped)])[0]
        assert seen.label == plain.label
        for name, p in plain.probabilities.items():
            assert seen.probabilities[name] == pytest.approx(p, abs=0.03)


def test_exposure_gain_follows_the_camera_and_not_an_opening_mouth(face):
    """The gain between two faces is the camera's: a step of the whole image is measured to within 1 %, while
    a dark mouth opening over a twentieth of the face, which lowers the face's mean grey by several percent,
    leaves it at 1."""
    from frl_core.motion.registration import exposure_gain

    darker = (face.astype(np.float32) * 0.8).astype(np.uint8)
    for gain in (0.88, 1.12):
        stepped = np.clip(darker.astype(np.float32) * gain, 0, 255).astype(np.uint8)
        assert exposure_gain(darker, stepped) == pytest.approx(gain, abs=0.01)
    opened = darker.copy()
    opened[150:190, 72:152] = (opened[150:190, 72:152] * 0.3).astype(np.uint8)
    inner = (slice(11, 213), slice(18, 207))
    assert np.mean(opened[inner]) < 0.97 * np.mean(darker[inner])
    assert exposure_gain(darker, opened) == pytest.approx(1.0, abs=0.01)
    assert exposure_gain(np.zeros_like(darker), np.zeros_like(darker)) == 1.0  # nothing usable: no step


def _turned(face: np.ndarray, yaw: float, pitch: float, depth_scale: float, local: np.ndarray) -> np.ndarray:
    """The aligned face with a local movement, its head turned in depth (parallax of a face deeper or flatter than
    the generic one registration assumes, its landmarks 3 % wider) and shifted."""
    from frl_core.faces.au_regions import TEMPLATE_68
    from frl_core.faces.head_pose import GENERIC_FACE_3D, OUTER_EYE_CORNERS_MM, face_depth

    wider = (TEMPLATE_68 - 0.5) * 1.03 + 0.5
    px_per_mm = float(np.linalg.norm(wider[45] - wider[36])) * 224 / OUTER_EYE_CORNERS_MM
    depth = face_depth(wider * 224, 224, 224, GENERIC_FACE_3D[:, 2] * depth_scale) * px_per_mm
    field = local + np.stack([np.radians(yaw) * depth, -np.radians(pitch) * depth]) + np.array([1.0, -0.7])[:, None, None]
    ys, xs = np.mgrid[0:224, 0:224].astype(np.float32)
    field = field.astype(np.float32)
    return cv2.remap(face, xs - field[0], ys - field[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


@pytest.mark.parametrize("aus, yaw, pitch, depth_scale", [(("AU12",), 3.0, 0.0, 1.3), (("AU4",), 0.0, 3.0, 0.7),
                                                          (("AU17",), -4.0, 2.0, 1.0), (("AU1", "AU2"), 2.0, -3.0, 1.2)])
def test_a_head_turned_in_depth_is_taken_out_and_the_movement_kept(face, aus, yaw, pitch, depth_scale):
    """Real heads turn a few degrees between an onset and an apex: the nose then moves against the cheeks, which no
    similarity takes out (the flow left over was 0.5-1.5 px, more than the movement). Registration takes the turn
    out with the head's other motion, on a face whose depth is not the generic one it assumes, and reports it."""
    from frl_core.faces.action_units import au_field
    from frl_core.faces.au_regions import TEMPLATE_68
    from frl_core.motion.flow_image import dis_flow

    local = au_field(TEMPLATE_68 * 224, aus, 224, 224) * 1.5
    apex = _turned(face, yaw, pitch, depth_scale, local)
    inner = (slice(None), slice(30, 200), slice(25, 199))
    errors = {}
    for turn in (True, False):
        registered, motion = register(face, apex, turn=turn)
        errors[turn] = float(np.linalg.norm((dis_flow(face, registered) - local)[inner], axis=0).mean())
    assert errors[True] < 0.3 and errors[True] < 0.4 * errors[False]
    _, motion = register(face, apex)
    for measured, true in ((motion.yaw_deg, yaw), (motion.pitch_deg, pitch)):
        assert measured == pytest.approx(true * depth_scale, abs=0.3 + 0.25 * abs(true))  # in the generic face's depth
    assert set(motion.as_dict()) >= {"yaw_deg", "pitch_deg"}


@pytest.mark.parametrize("aus", [("AU12",), ("AU15",), ("AU17",), ("AU10",), ("AU1", "AU2"), ("AU4",)])
def test_a_movement_without_a_turn_is_not_taken_for_one(face, aus):
    """The turn's two terms must not eat a movement of a still head: a raised upper lip or a chin moves the middle
    of the face against its sides too (a quarter of a degree leaked into the turn before it was shrunk). Without a
    turn the registered pair is the one a similarity alone gives."""
    from frl_core.faces.action_units import au_field
    from frl_core.faces.au_regions import TEMPLATE_68
    from frl_core.motion.flow_image import dis_flow

    local = au_field(TEMPLATE_68 * 224, aus, 224, 224) * 2.0
    apex = _turned(face, 0.0, 0.0, 1.0, local)
    registered, motion = register(face, apex)
    assert abs(motion.yaw_deg) < 0.05 and abs(motion.pitch_deg) < 0.05
    similarity_only, _ = register(face, apex, turn=False)
    moving = np.linalg.norm(local, axis=0) > 0.5

    def kept(reg: np.ndarray) -> float:
        flow = dis_flow(face, reg)
        return float((flow * local).sum(0)[moving].mean() / (local * local).sum(0)[moving].mean())

    assert kept(registered) > 0.8 and kept(registered) == pytest.approx(kept(similarity_only), abs=0.01)
