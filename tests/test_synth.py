"""The sequence generator: exact ground truth, movements where the action units are, the shipped demo."""

import json

import cv2
import numpy as np
import pytest

from frl_core import synth
from frl_core.paths import ASSETS_DIR


@pytest.fixture(scope="module")
def smile():
    event = synth.micro_event(10, 30.0, "smile", amplitude=3.0)
    return synth.render_sequence(None, fps=30, events=[event], n_frames=30, noise_sigma=0.0,
                                 head_motion=synth.STILL, seed=1)


def test_frames_are_640x480_and_reproducible(smile):
    frame = smile.frames[0]
    assert frame.shape == (480, 640, 3) and frame.dtype == np.uint8
    assert len(smile.frames) == 30
    again = synth.render_sequence(None, fps=30, events=smile.events, n_frames=30, noise_sigma=0.0,
                                  head_motion=synth.STILL, seed=1)
    assert np.array_equal(again.frames[smile.events[0].apex], smile.frames[smile.events[0].apex])


def test_smile_moves_the_mouth_corners_and_nothing_else(smile):
    e = smile.events[0]
    onset, apex = smile.frames[e.onset].astype(float), smile.frames[e.apex].astype(float)
    diff = np.abs(apex - onset).sum(2)
    lm = smile.face_landmarks
    mouth = lm[[48, 54]].astype(int)
    near_mouth = max(diff[y - 12:y + 12, x - 12:x + 12].max() for x, y in mouth)
    eyes = lm[36:48]
    x0, y0 = eyes.min(0).astype(int)
    x1, y1 = eyes.max(0).astype(int)
    assert near_mouth > 20
    assert diff[y0 - 10:y1 + 10, x0 - 10:x1 + 10].max() <= 3  # Gaussian tails round to a level or two
    # Before the onset and after the offset the face is neutral again.
    assert np.array_equal(smile.frames[e.onset], smile.frames[0])
    assert np.array_equal(smile.frames[e.offset], smile.frames[0])


def test_intensity_ramps_onset_apex_offset():
    e = synth.SyntheticEvent(10, 15, 22, "brow_raise")
    values = [e.intensity(i) for i in range(8, 25)]
    assert values[2] == 0.0 and e.intensity(15) == 1.0 and e.intensity(22) == 0.0
    assert all(a < b for a, b in zip(values[2:7], values[3:8]))
    assert e.label == "surprise" and e.action_units == ("AU1", "AU2")


def test_bad_events_are_clear_errors():
    with pytest.raises(synth.SynthError, match="onset < apex < offset"):
        synth.SyntheticEvent(10, 9, 20, "smile")
    with pytest.raises(synth.SynthError, match="unknown expression"):
        synth.SyntheticEvent(1, 2, 3, "wink")
    with pytest.raises(synth.SynthError, match="does not fit"):
        synth.render_sequence(None, events=[synth.micro_event(50, 30.0, "smile")], n_frames=40)


def test_random_sequences_keep_events_and_blinks_apart():
    seq = synth.random_sequence(5, seconds=20, n_micro=4, n_macro=1, n_blinks=3)
    spans = sorted([(e.onset, e.offset) for e in seq.events] + [(b.start, b.end) for b in seq.blinks])
    assert len(seq.events) == 5 and len(seq.blinks) == 3
    assert all(a[1] < b[0] for a, b in zip(spans, spans[1:]))
    kinds = sorted(e.kind for e in seq.events)
    assert kinds == ["macro", "micro", "micro", "micro", "micro"]


def test_shipped_demo_matches_its_ground_truth():
    video = ASSETS_DIR / "demo" / "demo.mp4"
    truth = json.loads((ASSETS_DIR / "demo" / "demo_ground_truth.json").read_text())
    cap = cv2.VideoCapture(str(video))
    try:
        assert cap.isOpened()
        assert int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)) == truth["width"] == 640
        assert int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) == truth["height"] == 480
        assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(truth["fps"]) == 30
        assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == truth["frames"]
    finally:
        cap.release()
    assert 20 <= truth["frames"] / truth["fps"] <= 30
    kinds = [e["kind"] for e in truth["events"]]
    assert kinds.count("macro") == 1 and kinds.count("micro") >= 3
    assert truth["blinks"]
    # The JSON is what the generator makes today.
    assert synth.demo_sequence().ground_truth()["events"] == truth["events"]
