"""The onset and apex of a pair aligned together: landmark jitter no longer reads as facial motion."""

import cv2
import numpy as np
import pytest

from frl_core.engine.analysis import AlignedRing
from frl_core.faces import FaceTracker, align_face
from frl_core.faces.pair import MAX_SHARED_MOTION_PX, align_pair, face_patch, head_motion_px
from frl_core.motion.registration import estimate_global_motion
from frl_core.paths import ASSETS_DIR


@pytest.fixture(scope="module")
def frame_and_landmarks():
    face = cv2.imread(str(ASSETS_DIR / "faces" / "astronaut.jpg"), cv2.IMREAD_GRAYSCALE)
    # the face in a webcam-sized frame, as the product sees it
    frame = np.full((480, 640), 90, np.uint8)
    frame[120:120 + face.shape[0], 200:200 + face.shape[1]] = face
    obs, _ = FaceTracker().update(frame)
    assert obs is not None
    return frame, obs.landmarks.astype(np.float64)


def test_a_pair_from_one_frame_is_the_face_as_aligned_on_its_own(frame_and_landmarks):
    frame, landmarks = frame_and_landmarks
    patch = face_patch(frame, landmarks)
    pair = align_pair(patch, patch)
    assert pair.shared and pair.head_motion_px == pytest.approx(0.0, abs=1e-9)
    assert np.array_equal(pair.onset, align_face(frame, landmarks))
    assert patch.pixels.size < frame.size / 3  # only the pixels around the face are kept


def test_landmark_jitter_on_a_still_face_gives_no_motion_between_the_pair(frame_and_landmarks):
    frame, landmarks = frame_and_landmarks
    rng = np.random.default_rng(1)
    jittered = [landmarks + rng.uniform(-1.5, 1.5, landmarks.shape) for _ in range(2)]
    pair = align_pair(face_patch(frame, jittered[0]), face_patch(frame, jittered[1]))
    assert pair.shared
    assert np.array_equal(pair.onset, pair.apex)
    one_by_one = [align_face(frame, lm) for lm in jittered]
    moved = estimate_global_motion(one_by_one[0], one_by_one[1])
    assert np.hypot(*moved.translation) > 0.05  # aligned one by one, the jitter is a head motion


def test_real_head_motion_is_left_for_registration_and_a_large_one_aligns_each_face_on_its_own(frame_and_landmarks):
    frame, landmarks = frame_and_landmarks
    shift = np.float32([[1, 0, 2.0], [0, 1, -1.0]])
    moved_frame = cv2.warpAffine(frame, shift, frame.shape[::-1], borderMode=cv2.BORDER_REPLICATE)
    small = align_pair(face_patch(frame, landmarks), face_patch(moved_frame, landmarks + [2.0, -1.0]))
    assert small.shared and 0 < small.head_motion_px < MAX_SHARED_MOTION_PX
    found = estimate_global_motion(small.onset, small.apex)
    scale = small.head_motion_px / np.hypot(2.0, 1.0)  # aligned pixels per frame pixel
    assert found.translation == pytest.approx((2.0 * scale, -1.0 * scale), abs=0.3)  # a 2.3x upscaled face

    far = np.float32([[1, 0, 30.0], [0, 1, 0.0]])
    far_frame = cv2.warpAffine(frame, far, frame.shape[::-1], borderMode=cv2.BORDER_REPLICATE)
    large = align_pair(face_patch(frame, landmarks), face_patch(far_frame, landmarks + [30.0, 0.0]))
    assert not large.shared and large.head_motion_px > MAX_SHARED_MOTION_PX
    assert head_motion_px(landmarks, landmarks + [30.0, 0.0]) == pytest.approx(large.head_motion_px)
    assert np.array_equal(large.apex, align_face(far_frame, landmarks + [30.0, 0.0]))


def test_a_face_at_the_frame_edge_and_a_close_up_are_aligned_as_on_their_own(frame_and_landmarks):
    frame, landmarks = frame_and_landmarks
    edge = landmarks - [landmarks[:, 0].min() + 10.0, 0.0]  # the face half out of the frame on the left
    edge_frame = cv2.warpAffine(frame, np.float32([[1, 0, -(landmarks[:, 0].min() + 10.0)], [0, 1, 0]]),
                                frame.shape[::-1])
    pair = align_pair(face_patch(edge_frame, edge), face_patch(edge_frame, edge))
    assert np.array_equal(pair.onset, align_face(edge_frame, edge))

    close = cv2.resize(frame, None, fx=6, fy=6, interpolation=cv2.INTER_LINEAR)
    close_landmarks = landmarks * 6 + 2.5
    patch = face_patch(close, close_landmarks)
    assert patch.binning >= 2 and patch.pixels.size < (2 * 224 * 1.3) ** 2  # memory stays bounded
    got = align_pair(patch, patch).onset.astype(float)
    assert np.abs(got - align_face(close, close_landmarks)).mean() < 2.0


def test_the_ring_aligns_a_pair_together_and_falls_back_without_pixels(frame_and_landmarks):
    frame, landmarks = frame_and_landmarks
    rng = np.random.default_rng(2)
    marks = [landmarks + rng.uniform(-1, 1, landmarks.shape) for _ in range(3)]
    ring = AlignedRing(8, 224)
    for i, lm in enumerate(marks):
        ring.put(i, i / 30, align_face(frame, lm), face_patch(frame, lm) if i < 2 else None)
    onset, apex = ring.pair(0, 1)
    assert np.array_equal(onset, apex)
    onset, apex = ring.pair(0, 2)  # frame 2 kept no pixels: each face as aligned on its own
    assert np.array_equal(onset, ring.face(0)) and np.array_equal(apex, ring.face(2))
    ring.put(9, 9 / 30, None)  # frame 9 takes frame 1's slot and has no face
    assert ring.pair(0, 1) is None and ring.patch(1) is None
