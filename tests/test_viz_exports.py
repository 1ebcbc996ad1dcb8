"""Displacement pictures and the files a user exports: colours mean directions, files parse back."""

import csv
import json

import cv2
import numpy as np
import pytest

from frl_core.faces.au_regions import TEMPLATE_68, canonical_region_boxes, REGION_NAMES
from frl_core.io.exports import (AnnotatedVideoWriter, ExportError, write_event_pngs, write_events_csv,
                              write_events_json, write_frames_csv)
from frl_core.types import Event, FaceObservation, FrameResult
from frl_core.viz import (color_wheel_legend, displacement_to_rgb, draw_displacement_arrows, region_magnitudes,
                          render_event_figure)

SIZE = 112


def _field_in_region(region: str, dx: float, dy: float) -> np.ndarray:
    disp = np.zeros((2, SIZE, SIZE), np.float32)
    x0, y0, x1, y1 = canonical_region_boxes(SIZE)[REGION_NAMES.index(region)].astype(int)
    disp[0, y0:y1, x0:x1] = dx
    disp[1, y0:y1, x0:x1] = dy
    return disp


def _event(event_id=1, with_arrays=True) -> Event:
    face = np.tile(np.linspace(40, 200, SIZE, dtype=np.uint8), (SIZE, 1))
    event = Event(event_id=event_id, onset_index=10, apex_index=14, offset_index=20, onset_time=0.333,
                  apex_time=0.467, offset_time=0.667, kind="micro", score=0.8, label="positive",
                  probabilities={"negative": 0.1, "positive": 0.7, "surprise": 0.2})
    if with_arrays:
        event.displacement = _field_in_region("left_mouth_corner", 0.6, -0.4)
        event.onset_face, event.apex_face = face, face
        event.region_magnitude = region_magnitudes(event.displacement)
    return event


def test_colour_wheel_still_is_white_and_directions_differ():
    disp = np.zeros((2, 8, 32), np.float32)
    disp[0, :, 8:16] = 1.0   # right
    disp[0, :, 16:24] = -1.0  # left
    disp[1, :, 24:] = -1.0   # up
    rgb = displacement_to_rgb(disp, max_magnitude=1.0)
    assert rgb.shape == (8, 32, 3) and rgb.dtype == np.uint8
    assert (rgb[:, :8] == 255).all()
    right, left, up = rgb[0, 10].astype(int), rgb[0, 20].astype(int), rgb[0, 28].astype(int)
    assert right[0] > 200 and right[1] < 80 and right[2] < 80  # rightward is red
    assert np.abs(right - left).sum() > 200 and np.abs(right - up).sum() > 200
    weaker = displacement_to_rgb(disp * 0.3, max_magnitude=1.0)[0, 10].astype(int)
    assert weaker.min() > right.min()  # less motion, less saturated


def test_legend_matches_the_coding():
    legend = color_wheel_legend(65)
    rightmost = legend[32, 63].astype(int)
    expected = displacement_to_rgb(np.array([[[1.0]], [[0.0]]], np.float32), max_magnitude=1.0)[0, 0].astype(int)
    assert np.abs(rightmost - expected).max() < 40
    assert (legend[0, 0] == 255).all() and (legend[32, 32] > 240).all()


def test_region_magnitude_points_at_the_moving_region():
    mags = region_magnitudes(_field_in_region("chin", 0.0, 1.0))
    assert set(mags) == set(REGION_NAMES)
    assert max(mags, key=mags.get) == "chin" and mags["chin"] > 0.5
    assert mags["left_brow_eye"] == pytest.approx(0.0)


def test_arrows_drawn_where_there_is_motion_only():
    face = np.full((SIZE, SIZE), 128, np.uint8)
    out = draw_displacement_arrows(face, _field_in_region("chin", 0.0, 1.0), step=8, color=(0, 0, 255))
    red = (out[:, :, 2] == 255) & (out[:, :, 1] < 100)
    x0, y0, x1, y1 = canonical_region_boxes(SIZE)[REGION_NAMES.index("chin")]
    ys, xs = np.nonzero(red)
    assert len(ys) > 20 and ys.min() >= y0 - 2 and xs.min() >= x0 - 8
    assert (draw_displacement_arrows(face, np.zeros((2, 28, 28), np.float32)) == 128).all()


def test_event_figure_with_and_without_displacement():
    full = render_event_figure(_event())
    empty = render_event_figure(_event(with_arrays=False))
    assert full.ndim == 3 and full.shape[2] == 3 and full.shape[1] >= 4 * 224
    assert full.shape == empty.shape
    assert not np.array_equal(full, empty)


def _frame_results(n=5):
    lm = TEMPLATE_68 * 100 + 50
    out = []
    for i in range(n):
        face = None if i == 2 else FaceObservation(box=(50, 50, 150, 150), landmarks=lm, detected=i == 0)
        out.append(FrameResult(index=i, timestamp=i / 30, face=face, motion_score=float("nan") if i < 1 else i * 0.1,
                               threshold=0.5, message="no face" if face is None else None))
    return out


def test_frames_csv_has_one_parseable_row_per_frame(tmp_path):
    path = write_frames_csv(tmp_path / "frames.csv", _frame_results())
    rows = list(csv.DictReader(open(path)))
    assert len(rows) == 5
    assert rows[2]["face_found"] == "0" and rows[2]["message"] == "no face" and rows[2]["lm0_x"] == ""
    assert rows[0]["motion_score"] == "" and float(rows[3]["motion_score"]) == pytest.approx(0.3)
    assert float(rows[1]["lm67_y"]) == pytest.approx(TEMPLATE_68[67, 1] * 100 + 50, abs=0.01)
    assert float(rows[4]["timestamp"]) == pytest.approx(4 / 30, abs=1e-4)


def test_frames_csv_puts_each_late_spotting_score_on_its_own_frame(tmp_path):
    """Frame i's two-sided score arrives with frame i + 3: the row waits for it; frames that never get one
    (the last three) are written blank when the file closes."""
    results = _frame_results(8)
    for r in results[3:]:
        r.decided_scores = ((r.index - 3, r.timestamp - 0.1, 0.25 * (r.index - 3)),)
    rows = list(csv.DictReader(open(write_frames_csv(tmp_path / "frames.csv", results))))
    assert [r["index"] for r in rows] == [str(i) for i in range(8)]
    assert [float(r["spotting_score"]) for r in rows[:5]] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert [r["spotting_score"] for r in rows[5:]] == ["", "", ""]


def test_events_csv_json_and_pngs(tmp_path):
    events = [_event(1), _event(2), _event(3)]
    events[1].reference_index = 5  # made while talking: its apex compared with frame 5
    events[1].while_talking, events[2].while_talking = True, False  # the first: the speech filter was off
    rows = list(csv.DictReader(open(write_events_csv(tmp_path / "events.csv", events))))
    assert [r["label"] for r in rows] == ["positive", "positive", "positive"]
    assert [r["while_talking"] for r in rows] == ["", "1", "0"]
    assert float(rows[0]["prob_positive"]) == pytest.approx(0.7)
    assert float(rows[0]["motion_left_mouth_corner"]) > float(rows[0]["motion_chin"])
    doc = json.loads(write_events_json(tmp_path / "events.json", events, {"fps": 30}).read_text())
    assert doc["metadata"]["fps"] == 30 and len(doc["events"]) == 3
    first = doc["events"][0]
    assert first["apex_index"] == 14 and first["kind"] == "micro" and first["confidence"] == pytest.approx(0.7)
    assert set(first["region_magnitude"]) == set(REGION_NAMES)
    assert [e["reference_index"] for e in doc["events"]] == [None, 5, None]
    assert [e["while_talking"] for e in doc["events"]] == [None, True, False]
    pngs = write_event_pngs(tmp_path / "events", events)
    assert len(pngs) == 3 and all(cv2.imread(str(p)) is not None for p in pngs)


def _read_video(path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            return frames
        frames.append(frame)


@pytest.mark.parametrize("name", ["annotated.mp4", "annotated.avi"])
def test_annotated_video_is_readable(tmp_path, name):
    frames = _frame_results(6)
    with AnnotatedVideoWriter(tmp_path / name, fps=30) as writer:
        for i, result in enumerate(frames):
            writer.write(np.zeros((240, 320, 3), np.uint8), result, [_event()] if i == 3 else [])
    read = _read_video(tmp_path / name)
    assert len(read) == 6 and read[0].shape == (240, 320, 3)
    assert read[0][40:, :].max() > 100  # the face box is drawn in the first frame


def test_annotated_video_rejects_unknown_container(tmp_path):
    with pytest.raises(ExportError, match=".mp4 or .avi"):
        AnnotatedVideoWriter(tmp_path / "out.mkv", fps=30)


def test_text_cells_that_look_like_formulas_stay_text_and_png_names_stay_in_the_folder(tmp_path):
    import csv as _csv

    from frl_core.io.exports import event_png_name, write_events_csv
    from frl_core.types import Event

    event = Event(event_id=1, onset_index=0, apex_index=5, offset_index=9, onset_time=0.0, apex_time=0.2,
                  offset_time=0.3, kind="micro", score=1.0, label="=HYPERLINK(\"http://x\")")
    path = write_events_csv(tmp_path / "events.csv", [event])
    row = next(_csv.DictReader(path.open()))
    assert row["label"].startswith("'=")
    event.label = "../../outside"
    name = event_png_name(event)
    assert "/" not in name and "\\" not in name and ".." not in name


def _label_pixels(frame: np.ndarray) -> int:
    """Saturated (label-coloured) pixels in the bottom strip, where an event is named, on a grey frame."""
    strip = frame[-30:].astype(int)
    return int((strip.max(axis=2) - strip.min(axis=2) > 80).sum())


def test_annotated_video_names_each_event_from_its_onset_although_it_is_reported_seconds_later(tmp_path):
    """The engine reports an event once its offset is certain (~2 s after it); the video written while
    analysing must still show the label over the event, not never."""
    event = _event(with_arrays=False)  # onset 0.333 s, offset 0.667 s
    results = [FrameResult(index=i, timestamp=i / 30, face=None, motion_score=0.1, threshold=0.5) for i in range(120)]
    path = tmp_path / "live.avi"
    with AnnotatedVideoWriter(path, fps=30, delay_s=4.0) as writer:
        for i, result in enumerate(results):
            writer.write(np.full((240, 320, 3), 60, np.uint8), result)
            if i == 80:  # reported 2 s after its offset
                writer.add_events([event])
    frames = _read_video(path)
    assert len(frames) == 120
    labelled = [i for i, f in enumerate(frames) if _label_pixels(f) > 20]
    assert labelled and labelled[0] in (9, 10) and labelled[-1] == 65  # onset .. offset + 1.5 s


def test_an_event_figures_header_fits_a_long_label():
    """An uncertain label made while talking ("uncertain (most likely negative, 51%), while talking") ran past the
    figure's right edge, and the frames, times and score after it were lost; the header now shrinks to fit."""
    event = _event(2)
    event.label, event.while_talking = "uncertain", True
    event.onset_index, event.apex_index, event.offset_index = 16400, 16900, 17400
    event.onset_time, event.offset_time = 5470.467, 5800.133
    header = render_event_figure(event)[:40]
    dark = np.nonzero((header < 100).all(axis=2).any(axis=0))[0]
    assert len(dark) > 100 and dark.max() < header.shape[1] - 4
