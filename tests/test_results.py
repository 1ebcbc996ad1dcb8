"""Outputs a researcher reuses later: the schema and metadata in every file, the loader, the plots."""

import csv
import json

import numpy as np
import pytest

from frl_core.io.exports import (SCHEMA_VERSION, FramesCsvWriter, output_metadata, write_event_pngs, write_events_csv,
                                 write_events_json)
from frl_core.spotting import SpotterConfig
from frl_core.faces import FaceConfig
from frl_core.types import Event, FaceObservation, FrameResult

pd = pytest.importorskip("pandas")
from frl_core import results  # noqa: E402  (needs pandas)


def _frames(n=60):
    out = []
    landmarks = np.tile(np.array([[300.0, 200.0]]), (68, 1)) + np.random.default_rng(0).normal(0, 30, (68, 2))
    for i in range(n):
        face = FaceObservation(box=(200, 100, 400, 300), landmarks=landmarks, detected=i == 0, confidence=0.9,
                               pose=(1.0, -2.0, 3.0, 10.0, -5.0, 600.0)) if i != 7 else None
        out.append(FrameResult(index=i, timestamp=i / 30, face=face, motion_score=0.1, threshold=0.6,
                               decided_scores=((i, i / 30, 1.5 if 20 <= i <= 25 else 0.2),),
                               region_motion=(0.1, 0.1, 0.2, 0.3, 1.2, 0.1) if i >= 5 else None))
    return out


def _events():
    event = Event(event_id=1, onset_index=20, apex_index=23, offset_index=26, onset_time=20 / 30, apex_time=23 / 30,
                  offset_time=26 / 30, kind="micro", score=1.5, label="positive",
                  probabilities={"negative": 0.1, "positive": 0.8, "surprise": 0.1},
                  region_magnitude={"left_mouth_corner": 0.9, "chin": 0.1},
                  head_motion={"dx_px": 0.1, "dy_px": 0.0, "rotation_deg": 0.2, "scale": 1.0})
    event.displacement = np.full((2, 16, 16), 0.5, np.float32)
    event.onset_face = event.apex_face = np.full((64, 64), 128, np.uint8)
    return [event]


def _write_run(out, frame_names=None):
    meta = output_metadata("clip.mp4", 30.0, weights=None, face_settings=FaceConfig(), spotter_settings=SpotterConfig(),
                           complete=True)
    with FramesCsvWriter(out / "frames.csv", meta, frame_names) as writer:
        for result in _frames():
            writer.write(result)
    events = _events()
    write_events_csv(out / "events.csv", events, meta)
    write_events_json(out / "events.json", events, meta)
    write_event_pngs(out / "events", events)
    return out


def test_every_file_says_its_schema_source_and_settings(tmp_path):
    _write_run(tmp_path, frame_names=[f"img{i}.jpg" for i in range(60)])
    doc = json.loads((tmp_path / "events.json").read_text())
    assert doc["schema_version"] == SCHEMA_VERSION
    for sidecar in ("frames.meta.json", "events.meta.json"):
        side = json.loads((tmp_path / sidecar).read_text())
        assert side["describes"] == sidecar.replace(".meta.json", ".csv")
        meta = side["metadata"]
        assert meta["source"] == "clip.mp4" and meta["fps"] == 30.0 and meta["tool_version"] not in ("", "unknown")
        assert meta["spotter_settings"]["window_s"] == SpotterConfig().window_s and "detect_every_n" in meta["face_settings"]
    rows = list(csv.DictReader(open(tmp_path / "frames.csv")))
    assert rows[3]["source_file"] == "img3.jpg" and rows[3]["pose_yaw_deg"] == "-2.00"
    assert rows[3]["face_confidence"] == "0.9000" and rows[7]["pose_yaw_deg"] == "" and rows[7]["face_found"] == "0"
    assert rows[22]["residual_left_mouth_corner"] == "1.2000" and rows[2]["residual_chin"] == ""
    assert rows[0]["lm0_x"] != "" and list(rows[0])[:3] == ["index", "timestamp", "face_found"]  # old columns kept


def test_weights_digest_identifies_the_file(tmp_path):
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"abc")
    meta = output_metadata("x", 30.0, weights=weights)
    assert meta["weights_sha256"] == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert output_metadata("x", 30.0)["weights_sha256"] is None


def test_load_gives_tables_metadata_and_the_displacement_field(tmp_path):
    run = results.load(_write_run(tmp_path))
    assert isinstance(run.frames, pd.DataFrame) and len(run.frames) == 60
    assert run.frames["pose_roll_deg"].iloc[0] == 3.0 and np.isnan(run.frames["pose_roll_deg"].iloc[7])
    assert run.events.loc[0, "label"] == "positive" and run.events.loc[0, "prob_positive"] == pytest.approx(0.8)
    assert run.events.loc[0, "motion_left_mouth_corner"] == pytest.approx(0.9)
    assert run.metadata["fps"] == 30.0 and run.schema_version == SCHEMA_VERSION
    assert run.frame_probabilities is None  # the run did not ask for the stream
    field = run.displacement(1)
    assert field.shape == (2, 16, 16) and field.dtype == np.float32 and float(field.mean()) == pytest.approx(0.5)


def test_plots_are_images_showing_the_interval_and_the_regions(tmp_path):
    run = results.load(_write_run(tmp_path))
    timeline = results.plot_score_timeline(run, width=600, height=200)
    assert timeline.shape == (200, 600, 3)
    x_in = 60 + int((23 / 30 - 0) / (59 / 30) * (600 - 80))  # inside the detected interval
    shaded = (timeline[:, x_in - 3] == (200, 230, 255)).all(axis=1).sum()
    assert shaded > 50  # the interval is shaded from top to bottom of the plot
    bars = results.plot_region_motion(run, width=600, height=300)
    purple = (bars == results.REGION_COLOURS[4]).all(axis=2).sum()  # left_mouth_corner, the strongest
    brown = (bars == results.REGION_COLOURS[5]).all(axis=2).sum()
    assert purple > 5 * brown > 0


def test_an_older_folder_without_schema_or_new_columns_still_loads(tmp_path):
    _write_run(tmp_path)
    doc = json.loads((tmp_path / "events.json").read_text())
    del doc["schema_version"]
    (tmp_path / "events.json").write_text(json.dumps(doc))
    (tmp_path / "frames.meta.json").unlink()
    run = results.load(tmp_path)
    assert run.schema_version == 0 and len(run.events) == 1
    assert run.left_out_as_speech.empty and results.plot_score_timeline(run).shape[2] == 3


@pytest.mark.parametrize("damage,message", [
    (lambda d: (d / "events.json").write_text(json.dumps({"schema_version": SCHEMA_VERSION + 1, "events": []})),
     "newer than this version reads"),
    (lambda d: (d / "frames.meta.json").write_text(json.dumps({"schema_version": SCHEMA_VERSION + 1})),
     "newer than this version reads"),
    (lambda d: (d / "events.json").write_text('{"schema_version": 1, "events": [{"event_id": '), "damaged"),
    (lambda d: (d / "events.json").write_text('{"schema_version": "one", "events": []}'), "damaged"),
    (lambda d: (d / "events.json").unlink(), "has no events.json"),
    (lambda d: (d / "frames.csv").unlink(), "has no frames.csv"),
    (lambda d: (d / "frames.csv").write_text(""), "damaged"),
])
def test_unreadable_folders_are_refused_in_one_line(tmp_path, damage, message):
    _write_run(tmp_path)
    damage(tmp_path)
    with pytest.raises(results.ResultsError) as err:
        results.load(tmp_path)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_a_missing_folder_is_one_line(tmp_path):
    with pytest.raises(results.ResultsError, match="no results folder"):
        results.load(tmp_path / "nowhere")


def test_the_probability_stream_loads_when_written(tmp_path):
    from frl_core.io.exports import FrameProbabilitiesWriter

    _write_run(tmp_path)
    writer = FrameProbabilitiesWriter(tmp_path / "frame_probabilities.csv", ["negative", "positive"], {"fps": 30.0})
    for result in _frames(5):
        result.probabilities, result.probability_reference = {"negative": 0.25, "positive": 0.75}, result.index - 2
        writer.write(result)
    writer.close()
    stream = results.load(tmp_path).frame_probabilities
    assert list(stream.columns) == ["index", "timestamp", "reference_index", "prob_negative", "prob_positive"]
    assert stream["prob_positive"].tolist() == [0.75] * 5
    (tmp_path / "frame_probabilities.csv").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(results.ResultsError, match="damaged"):
        results.load(tmp_path)
