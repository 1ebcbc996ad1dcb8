"""Head pose from landmarks: known rotations of projected faces, and a real face rotated through the detector."""

import numpy as np
import pytest

from frl_core.benchmarks.head_pose import out_of_plane_errors, roll_errors_through_detector
from frl_core.faces.head_pose import GENERIC_FACE_3D, head_pose, project

FRAME = (640, 480)


@pytest.mark.parametrize("pitch,yaw,roll", [(0, 0, 0), (20, 0, 0), (-20, 0, 0), (0, 20, 0), (0, -20, 0),
                                            (0, 0, 20), (15, -15, 10), (-10, 20, -15)])
def test_known_rotation_of_the_generic_face_with_half_a_pixel_of_jitter(pitch, yaw, roll):
    rng = np.random.default_rng(abs(pitch * 10000 + yaw * 100 + roll))
    landmarks = project(GENERIC_FACE_3D, pitch, yaw, roll, (20.0, -10.0, 600.0), FRAME)
    landmarks += rng.normal(0, 0.5, landmarks.shape)
    pose = head_pose(landmarks, FRAME)
    assert abs(pose.pitch - pitch) <= 3 and abs(pose.yaw - yaw) <= 3 and abs(pose.roll - roll) <= 3
    assert pose.tz == pytest.approx(600, rel=0.05) and pose.tx == pytest.approx(20, abs=5)


def test_sign_conventions_nod_down_turn_left_clockwise():
    base = project(GENERIC_FACE_3D, 0, 0, 0, (0, 0, 600), FRAME)
    nodded = project(GENERIC_FACE_3D, 10, 0, 0, (0, 0, 600), FRAME)
    turned = project(GENERIC_FACE_3D, 0, 10, 0, (0, 0, 600), FRAME)
    assert nodded[30, 1] > base[30, 1]  # the nose tip moves down when pitch > 0
    assert turned[30, 0] < base[30, 0]  # and towards the image left when yaw > 0
    assert head_pose(nodded, FRAME).pitch > 5 and head_pose(turned, FRAME).yaw > 5


def test_faces_unlike_the_generic_one_with_a_pixel_of_jitter_stay_within_three_degrees_on_average():
    errors = out_of_plane_errors(trials=300, noise_px=1.0, seed=3)
    assert errors.mean(axis=0).max() <= 3.0
    assert np.percentile(errors, 90, axis=0).max() <= 3.0


def test_rotated_real_face_through_the_detector_gives_its_roll():
    for true, measured in roll_errors_through_detector((-15, 15)):
        assert abs(measured - true) <= 1.5


@pytest.mark.parametrize("landmarks", [np.full((68, 2), np.nan), np.zeros((68, 2)), np.zeros((5, 2))])
def test_unusable_landmarks_give_no_pose(landmarks):
    assert head_pose(landmarks, FRAME) is None


def test_the_depth_map_puts_the_nose_in_front_and_the_face_s_sides_behind():
    """Registration takes a head's turn out with this map: it must carry the generic depths at the landmarks (the
    nose tip nearest the camera, the jaw's corners furthest) and stay within them over hair and background."""
    from frl_core.faces.au_regions import TEMPLATE_68
    from frl_core.faces.head_pose import GENERIC_FACE_3D, canonical_depth, face_depth

    depth = face_depth(TEMPLATE_68 * 224, 224, 224)
    at = np.array([depth[min(int(round(y)), 223), min(max(int(round(x)), 0), 223)] for x, y in TEMPLATE_68 * 224])
    assert np.abs(at - GENERIC_FACE_3D[:, 2]).mean() < 2.0  # mm
    assert int(np.argmin(at)) in (30, 29) and at[30] < at[33] < at[39] and at[8] < at[4] < at[0]
    assert GENERIC_FACE_3D[:, 2].min() - 1e-3 <= depth.min() and depth.max() <= GENERIC_FACE_3D[:, 2].max() + 1e-3
    side = canonical_depth(224)
    assert side.shape == (224, 224) and not side.flags.writeable
    mm_per_side = 90.0 / np.linalg.norm(TEMPLATE_68[45] - TEMPLATE_68[36])
    assert np.allclose(side, depth / mm_per_side, atol=1e-4)
