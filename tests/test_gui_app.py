"""The desktop app end to end (offscreen): the demo clip, exports, bad input, live input, shutdown."""

from __future__ import annotations

import json
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings  # noqa: E402

from app.main_window import MainWindow, demo_clip_path  # noqa: E402
from app.pipeline import ModelInfo, Pipeline  # noqa: E402
from app.settings import AppSettings, engine_config  # noqa: E402
from frl_core.io.sources import FrameSource, SourceError, open_source  # noqa: E402
from frl_core.engine import RecognitionError  # noqa: E402
from frl_core.types import FrameResult  # noqa: E402

DEMO = demo_clip_path()
needs_demo = pytest.mark.skipif(not DEMO.is_file(), reason=f"demo clip not built yet: {DEMO}")


@pytest.fixture
def settings(tmp_path) -> AppSettings:
    return AppSettings.load(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


@pytest.fixture(scope="module")
def shared_recognizer():
    """One real recognizer for the module (loading torch and the model once keeps the tests fast)."""
    from app.pipeline import load_recognizer

    cache = {}

    def loader(weights, device):
        key = (str(weights or ""), device)
        if key not in cache:
            cache[key] = load_recognizer(weights, device)
        return cache[key]

    return loader


def make_window(qtbot, settings, **pipeline_kwargs) -> MainWindow:
    pipeline = Pipeline(settings, **pipeline_kwargs) if pipeline_kwargs else None
    window = MainWindow(settings, probe_cameras=False, pipeline=pipeline)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    return window


def wait_until_finished(qtbot, window: MainWindow, timeout_ms: int = 120_000) -> None:
    qtbot.waitUntil(lambda: window.source_info is not None, timeout=15_000)
    qtbot.waitUntil(lambda: not window.pipeline.is_analysing(), timeout=timeout_ms)


def write_clip(path: Path, frames: list[np.ndarray], fps: float = 30.0) -> Path:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    for f in frames:
        writer.write(f)
    writer.release()
    return path


@pytest.fixture
def noise_clip(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    return write_clip(tmp_path / "noise.avi", [rng.integers(0, 255, (240, 320, 3), np.uint8) for _ in range(20)])


@pytest.fixture(scope="module")
def face_clip(tmp_path_factory) -> Path:
    """2.5 s of the bundled face with one generated micro-expression: a real face for the quick tests."""
    from frl_core.synth import micro_event, render_sequence, write_video

    seq = render_sequence(fps=30, size=(400, 300), events=[micro_event(40, 30, "smile", 3.0)], n_frames=75, seed=3)
    return write_video(seq, tmp_path_factory.mktemp("clip") / "face.mp4")


@pytest.mark.slow
@needs_demo
def test_demo_clip_runs_to_the_end_with_events_charts_maps_and_exports(qtbot, settings, shared_recognizer,
                                                                      tmp_path):
    window = make_window(qtbot, settings, recognizer_loader=shared_recognizer)
    window.open_demo()
    wait_until_finished(qtbot, window)
    truth_file = DEMO.parent / "demo_ground_truth.json"
    # the demo opens with its truth shown and compared
    assert len(window.score_chart.truth) == 5 and "ground truth" in window.score_chart.widget.plotItem.titleLabel.text
    assert window.truth_comparison.counts.ground_truth == 5 and window.truth_comparison.f1 >= 0.8
    assert "interval F1" in window.banner.text()
    assert window.results.frame_count() == window.source_info.frame_count
    assert window.events_model.rowCount() >= 1, window.banner.text()
    if truth_file.is_file():
        truth = json.loads(truth_file.read_text())
        n_truth = len(truth.get("events", truth)) if isinstance(truth, dict) else len(truth)
        assert window.events_model.rowCount() >= max(1, n_truth // 2)
    assert window.score_chart.has_data() and window.score_chart.regions
    times, spotting = window.score_chart.spotting_score()
    assert times.size > 0.9 * window.source_info.frame_count and np.nanmax(spotting) > 0
    assert window.prob_bars.has_data() and window.timeline.has_data()
    assert window.displacement.has_image()
    from app.pipeline import default_weights_path

    shipped = default_weights_path()
    assert (shipped.name if shipped.is_file() else "untrained model") in window.model_label.text()
    assert window.device_label.text() == f"device: {window.pipeline.model_info.device_name}"

    window.table.selectRow(0)
    event = window.results.events[0]
    qtbot.waitUntil(lambda: window.video.index == event.apex_index, timeout=5_000)
    assert window.displacement.shown_event is event

    csv_path = window.export_events_csv(tmp_path / "events.csv")
    json_path = window.export_events_json(tmp_path / "events.json")
    frames_path = window.export_frames_csv(tmp_path / "frames.csv")
    pngs = window.export_event_pngs(tmp_path / "maps")
    shot = window.save_screenshot(tmp_path / "shot.png")
    assert len(csv_path.read_text().splitlines()) == len(window.results.events) + 1
    assert len(json.loads(json_path.read_text())["events"]) == len(window.results.events)
    assert len(frames_path.read_text().splitlines()) == window.results.frame_count() + 1
    assert len(pngs) == len(window.results.events) and all(p.stat().st_size > 1000 for p in pngs)
    assert all(p.with_suffix(".npy").is_file() for p in pngs)
    for sidecar in (tmp_path / "events.meta.json", tmp_path / "frames.meta.json"):
        meta = json.loads(sidecar.read_text())["metadata"]  # the GUI's CSVs say where they came from
        assert meta["schema_version"] == 1 and meta["source"].endswith("demo.mp4") and meta["fps"] == 30.0
        assert len(meta["weights_sha256"]) == 64 and meta["spotter_settings"]["window_s"] > 0
        assert meta["spotter_blur_applied"] == 1.0  # the demo's face is not small: no extra blur
    assert cv2.imread(str(shot)).shape[:2] == (window.height(), window.width())
    assert window.export_dir() == DEMO.parent  # dialogs open beside the source, not in the home folder
    thread = window.export_video(tmp_path / "annotated.avi")
    assert thread is not None and window.progress.format() == "video %p%" and window.progress.value() < 100
    assert thread.wait(60_000)
    qtbot.waitUntil(lambda: window.progress.format() == "%p%", timeout=5_000)
    with open_source(str(tmp_path / "annotated.avi")) as annotated:
        assert annotated.frame_count == window.source_info.frame_count
        annotated.seek(event.apex_index)
        _t, apex_frame = annotated.read()
    with open_source(str(DEMO)) as original:
        original.seek(event.apex_index)
        _t, plain = original.read()
    # the event's label is written at the bottom of its apex frame
    changed = np.abs(apex_frame[-40:].astype(int) - plain[-40:].astype(int)).max(axis=2) > 80
    assert changed.sum() > 50


def test_ground_truth_is_shown_for_its_source_only_and_a_bad_file_is_a_message(qtbot, settings, noise_clip, tmp_path):
    window = make_window(qtbot, settings, recognizer_loader=fake_loader,
                         engine_factory=lambda config, recognizer: SlowEngine())
    window.open_spec(str(noise_clip))
    wait_until_finished(qtbot, window, 30_000)
    truth = tmp_path / "truth.csv"
    truth.write_text("onset,apex,offset,label\n3,5,8,positive\n12,13,15,\n")
    assert window.load_truth(truth) == 2 and len(window.score_chart.truth) == 2
    assert window.truth_comparison.counts.ground_truth == 2 and window.truth_comparison.f1 == 0.0
    bad = tmp_path / "bad.csv"
    bad.write_text("onset,offset\n9,2\n")
    assert window.load_truth(bad) is None and "before onset" in window.banner.text()
    assert len(window.score_chart.truth) == 2  # the good truth stays
    at_60 = tmp_path / "events_60fps.json"  # coded on a 60 fps recording of the same moments
    at_60.write_text(json.dumps({"fps": 60.0, "events": [{"onset": 6, "apex": 10, "offset": 16}]}))
    assert window.load_truth(at_60) == 1 and (window.truth[0].onset, window.truth[0].offset) == (3, 8)
    assert "mapped onto the input's frames by time" in window.banner.text()
    assert window.load_truth(truth) == 2
    window.reanalyse()
    qtbot.waitUntil(lambda: window.pipeline.is_analysing(), timeout=10_000)
    wait_until_finished(qtbot, window, 30_000)
    assert len(window.score_chart.truth) == 2  # re-analysing the same source keeps its truth
    other = write_clip(tmp_path / "other.avi", [np.full((240, 320, 3), 90, np.uint8)] * 10)
    window.open_spec(str(other))
    qtbot.waitUntil(lambda: window.source_info.spec == str(other), timeout=15_000)
    assert window.score_chart.truth == [] and window.truth == []  # another source: not its truth


def test_missing_file_shows_a_message_and_keeps_the_window_usable(qtbot, settings, noise_clip):
    window = make_window(qtbot, settings)
    window.open_spec("/no/such/video.mp4")
    qtbot.waitUntil(lambda: "no such file" in window.banner.text(), timeout=10_000)
    window.open_spec(str(noise_clip))
    wait_until_finished(qtbot, window, 60_000)
    assert window.results.frame_count() == 20


def test_folder_without_images_and_unreadable_file_show_messages(qtbot, settings, tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no frames here")
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"this is not a video")
    window = make_window(qtbot, settings)
    window.open_spec(str(tmp_path / "empty"))
    qtbot.waitUntil(lambda: "holds no images" in window.banner.text(), timeout=10_000)
    window.open_spec(str(bad))
    qtbot.waitUntil(lambda: "cannot read video" in window.banner.text(), timeout=10_000)
    assert window.source_info is None and window.open_video_action.isEnabled()


def test_no_face_in_the_whole_source_is_reported(qtbot, settings, noise_clip):
    window = make_window(qtbot, settings)
    window.open_spec(str(noise_clip))
    wait_until_finished(qtbot, window, 60_000)
    assert "no face" in window.banner.text()
    assert window.events_model.rowCount() == 0


def test_wrong_weights_file_is_reported_and_a_model_stays_usable(qtbot, settings, tmp_path, face_clip):
    bad = tmp_path / "not_weights.pt"
    bad.write_bytes(b"definitely not a checkpoint")
    settings.weights = str(bad)
    window = make_window(qtbot, settings)
    qtbot.waitUntil(lambda: "cannot load the model" in window.banner.text(), timeout=60_000)
    qtbot.waitUntil(lambda: window.pipeline.model_info is not None, timeout=60_000)
    window.open_spec(str(face_clip))
    wait_until_finished(qtbot, window, 60_000)
    assert window.results.frame_count() == 75
    model = window.pipeline.model_info.description
    window.banner.hide()
    changed = settings.copy()
    changed.weights = str(tmp_path / "missing.pt")
    window.apply_settings(changed)
    qtbot.waitUntil(lambda: "still using" in window.banner.text(), timeout=30_000)
    assert "weights file not found" in window.banner.text() and window.pipeline.model_info.description == model
    assert window.results.frame_count() == 75


def test_closing_while_analysing_stops_the_threads_before_the_window_goes(qtbot, settings, shared_recognizer,
                                                                           face_clip):
    settings.pace = "1x"
    window = make_window(qtbot, settings, recognizer_loader=shared_recognizer)
    window.open_spec(str(face_clip))
    qtbot.waitUntil(lambda: window.results.frame_count() > 5, timeout=30_000)
    assert window.pipeline.is_analysing()
    threads = [window.pipeline.capture, window.pipeline.session.worker]
    window.close()  # how fast the process then ends is measured by `bench startup` (0.44 s), not asserted here
    assert not any(t.is_alive() for t in threads)


class FakeCamera(FrameSource):
    """A live source at ``fps`` that can be 'unplugged' after ``fail_after`` frames."""

    def __init__(self, fps: float = 120.0, fail_after: int | None = None) -> None:
        self.fps, self.fail_after = fps, fail_after
        self.frame_count, self.is_live, self.name, self.frame_size, self.position = None, True, "camera 0", None, 0

    def read(self):
        if self.fail_after is not None and self.position >= self.fail_after:
            raise SourceError("camera 0 stopped delivering frames (unplugged?)")
        time.sleep(1.0 / self.fps)
        self.position += 1
        return self.position / self.fps, np.full((120, 160, 3), self.position % 256, np.uint8)


class SlowEngine:
    """Analysis slower than the camera: live input must drop frames rather than lag."""

    recognizer = None
    recognition_error = None

    def __init__(self) -> None:
        self.n = 0

    def process(self, timestamp, frame, gray=None):
        time.sleep(0.03)
        self.n += 1
        return FrameResult(index=self.n - 1, timestamp=timestamp, face=None), []

    def flush(self):
        return []

    def reset(self, start_index=0):
        self.n = start_index


class FakeRecognizer:
    class_names = ("negative", "positive", "surprise")

    def __init__(self) -> None:
        self.device_name = "CPU"


def fake_loader(_weights, _device):
    return FakeRecognizer(), ModelInfo("CPU", "fake", False, FakeRecognizer.class_names)


@pytest.mark.slow
def test_live_camera_drops_frames_when_analysis_is_slower_and_survives_unplugging(qtbot, settings, tmp_path):
    cameras = {0: lambda: FakeCamera(fail_after=120)}

    def factory(spec, fps):
        if isinstance(spec, int) and spec in cameras:
            return cameras[spec]()
        return open_source(spec, fps)

    window = make_window(qtbot, settings, recognizer_loader=fake_loader,
                         engine_factory=lambda config, recognizer: SlowEngine(), source_factory=factory)
    window.open_spec(0)
    qtbot.waitUntil(lambda: window.record_action.isEnabled(), timeout=10_000)
    window.toggle_recording(tmp_path / "rec.avi")
    qtbot.waitUntil(lambda: "unplugged" in window.banner.text(), timeout=10_000)
    qtbot.waitUntil(lambda: not window.pipeline.is_analysing(), timeout=5_000)
    analysed = window.results.frame_count()
    assert 0 < analysed < 120
    dropped = window.pipeline.dropped
    assert dropped > 0 and analysed + dropped <= 120
    assert (tmp_path / "rec.avi").is_file() and (tmp_path / "rec_events.csv").is_file()
    assert not window.record_action.isChecked()
    window.open_spec(7)
    qtbot.waitUntil(lambda: "no camera at index 7" in window.banner.text(), timeout=10_000)
    assert window.results.frame_count() == analysed


def test_gpu_out_of_memory_moves_recognition_to_the_cpu(qtbot, settings, noise_clip):
    devices = []

    def loader(_weights, device):
        devices.append(device)
        rec = FakeRecognizer()
        rec.device_name = "Fake GPU" if device != "cpu" else "CPU"
        return rec, ModelInfo(rec.device_name, "fake", False, rec.class_names)

    class OomEngine(SlowEngine):
        """Reports a failed recognition the way AnalysisEngine does when CUDA runs out of memory."""

        def process(self, timestamp, frame, gray=None):
            self.n += 1
            if self.n == 3 and self.recognizer.device_name != "CPU":
                self.recognition_error = RecognitionError(
                    "recognition failed: CUDA out of memory. Tried to allocate 2.00 GiB", out_of_memory=True)
            return FrameResult(index=self.n - 1, timestamp=timestamp, face=None), []

    def engine_factory(config, recognizer):
        engine = OomEngine()
        engine.recognizer = recognizer
        return engine

    settings.device = "cuda"
    window = make_window(qtbot, settings, recognizer_loader=loader, engine_factory=engine_factory)
    window.open_spec(str(noise_clip))
    wait_until_finished(qtbot, window, 30_000)
    assert "ran out of memory" in window.banner.text()
    assert devices == ["cuda", "cpu"] and window.device_label.text() == "device: CPU"
    assert window.results.frame_count() == 20


def test_settings_persist_and_overlays_toggle(qtbot, settings, tmp_path):
    window = make_window(qtbot, settings)
    new = settings.copy()
    new.detect_every_n = 9
    new.landmark_every_n = 3
    new.window_s = 0.8
    new.show_landmarks = False
    window.apply_settings(new)
    assert window.video.show_landmarks is False and not window.landmarks_action.isChecked()
    window.regions_action.trigger()
    assert window.video.show_regions is False
    again = AppSettings.load(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    assert (again.detect_every_n, again.window_s) == (9, 0.8)
    assert again.landmark_every_n == 3 and engine_config(again, 30.0).face.landmark_every_n == 3
    assert again.show_landmarks is False and again.show_regions is False


def test_a_frame_rate_belongs_to_one_source_and_an_assumed_rate_is_said(qtbot, tmp_path, noise_clip):
    """A rate given for a folder of 200-fps dataset frames must not turn the next video (or the next run of
    the app, through an override stored by an older version) into 200 fps."""
    store = QSettings(str(tmp_path / "old.ini"), QSettings.Format.IniFormat)
    store.setValue("fps_override", 200.0)
    settings = AppSettings.load(store)
    folder = tmp_path / "clip"
    folder.mkdir()
    for i in range(40):  # long enough to spot in at 30 fps (a shorter folder is offered clip mode instead)
        cv2.imwrite(str(folder / f"img{i + 1}.jpg"), np.full((60, 80, 3), 6 * i, np.uint8))
    window = make_window(qtbot, settings, recognizer_loader=fake_loader,
                         engine_factory=lambda config, recognizer: SlowEngine())
    window.open_spec(str(folder))
    wait_until_finished(qtbot, window, 30_000)
    assert window.source_info.fps == 30.0 and window.source_info.fps_origin == "assumed"
    assert "ASSUMED" in window.source_label.text() and "30 fps is assumed" in window.banner.text()
    window.set_source_fps(200.0)
    qtbot.waitUntil(lambda: window.source_info.fps == 200.0, timeout=15_000)
    assert "set by you" in window.source_label.text()
    wait_until_finished(qtbot, window, 30_000)
    window.open_spec(str(noise_clip))
    qtbot.waitUntil(lambda: window.source_info.spec == str(noise_clip), timeout=15_000)
    assert window.source_info.fps == 30.0 and window.source_info.fps_origin == "source"
    wait_until_finished(qtbot, window, 30_000)
    settings.save()
    assert not store.contains("fps_override")


@pytest.mark.slow
def test_pause_step_and_seek_on_a_face_video(qtbot, settings, face_clip):
    settings.pace = "1x"
    window = make_window(qtbot, settings, recognizer_loader=fake_loader)
    window.open_spec(str(face_clip))
    qtbot.waitUntil(lambda: window.results.frame_count() >= 5, timeout=30_000)
    window.toggle_play()
    assert not window.pipeline.is_playing()
    qtbot.wait(300)
    before = window.results.frame_count()
    window.step()
    qtbot.waitUntil(lambda: window.results.frame_count() == before + 1, timeout=5_000)
    window.seek(60)
    qtbot.waitUntil(lambda: window.video.index == 60, timeout=5_000)
    assert window.video.result is not None and window.video.result.face is not None
    assert window.results.faces_seen >= before
    window.toggle_play()
    wait_until_finished(qtbot, window, 30_000)
    assert window.results.frame_count() < 75 and max(window.results.frames) == 74


def test_a_found_camera_is_offered_and_opens_live(qtbot, settings):
    def factory(spec, fps):
        return FakeCamera(fps=60.0) if spec == 0 else open_source(spec, fps)

    window = make_window(qtbot, settings, recognizer_loader=fake_loader,
                         engine_factory=lambda config, recognizer: SlowEngine(), source_factory=factory)
    window._on_cameras_found([0])
    assert "camera(s) found" in window.banner.text()
    window.banner.action_button.click()
    qtbot.waitUntil(lambda: window.source_info is not None and window.source_info.is_live, timeout=10_000)
    qtbot.waitUntil(lambda: window.results.frame_count() > 3, timeout=10_000)
    assert window.camera_action.isChecked() and window.record_action.isEnabled()
    window.toggle_camera()
    qtbot.waitUntil(lambda: not window.pipeline.is_analysing(), timeout=5_000)
    assert not window.camera_action.isChecked() and window.results.frame_count() > 3


def _launch(tmp_path, trace_file):
    import os
    import subprocess
    import sys

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", FRL_STUDIO_TRACE=str(trace_file),
               XDG_CONFIG_HOME=str(tmp_path))
    main = Path(__file__).resolve().parent.parent / "main.py"
    return subprocess.Popen([sys.executable, str(main)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _wait_for_mark(trace_file, name, proc, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if trace_file.is_file() and any(line.startswith(name + " ") for line in trace_file.read_text().splitlines()):
            return
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.05)
    raise AssertionError(f"no {name} within {timeout} s")


@needs_demo
@pytest.mark.slow
def test_ctrl_c_closes_the_running_app_quickly_and_cleanly(tmp_path):
    import signal

    trace_file = tmp_path / "trace.txt"
    proc = _launch(tmp_path, trace_file)
    try:
        _wait_for_mark(trace_file, "first_frame", proc)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)  # a hang (the app kept running 40 s) fails here
    finally:
        proc.kill()  # never leave an app running after a failed test
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err


@pytest.mark.slow
def test_ctrl_c_while_the_splash_shows_ends_with_one_line(tmp_path):
    import signal

    trace_file = tmp_path / "trace.txt"
    proc = _launch(tmp_path, trace_file)
    try:
        _wait_for_mark(trace_file, "splash_painted", proc)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("interrupted"), err


def test_a_model_failure_before_the_window_listens_is_not_lost(qtbot, settings):
    """A wrong weights file fails within milliseconds, possibly before the window has connected to the
    pipeline: the message must still reach it (it arrives through the event loop)."""
    def broken(_weights, _device):
        raise RuntimeError("not a checkpoint")

    pipeline = Pipeline(settings, recognizer_loader=broken)
    time.sleep(0.5)  # the worker thread has failed (twice: the default model too) with no one listening yet
    heard = []
    pipeline.model_failed.connect(heard.append)
    qtbot.waitUntil(lambda: bool(heard), timeout=10_000)
    assert "cannot load the model: not a checkpoint" in heard[0]
    pipeline.shutdown()


@pytest.mark.slow
def test_a_dataset_clip_is_offered_clip_mode_and_gets_one_event_at_its_apex(qtbot, settings, data_root):
    """The real CASME II sequence (10 frames) is too short to spot in: the window says so, offers clip mode,
    and clip mode gives one event whose apex is on the clip's plateau (frame 004 on, where the composite's apex
    face of this clip is)."""
    folder = data_root / "sequences" / "casme2_sub_clip_resampled"
    if not folder.is_dir():
        pytest.skip(f"no real sequence at {folder}")
    window = make_window(qtbot, settings, recognizer_loader=fake_loader)
    window.open_spec(str(folder))
    wait_until_finished(qtbot, window, 30_000)
    assert "looks like a dataset clip" in window.banner.text() and window.events_model.rowCount() == 0
    thread = window.analyse_as_clip()
    assert thread is not None
    qtbot.waitUntil(lambda: window.events_model.rowCount() == 1, timeout=120_000)
    event = window.results.events[0]
    assert event.onset_index == 0 and event.apex_index >= 3 and event.offset_index == 9
    assert "clip mode: onset 0" in window.banner.text() and window.displacement.shown_event is event


def test_a_sideways_video_opens_upright_with_the_turn_setting(qtbot, settings, tmp_path):
    """A phone video whose rotation flag was lost: upright it has no face and the message points to the
    setting; with "Turn frames" at 90° the face is tracked on every frame, and the setting is kept."""
    from frl_core.synth import render_sequence

    seq = render_sequence(fps=30, n_frames=45, seed=5)
    sideways = write_clip(tmp_path / "sideways.avi", [cv2.rotate(f, cv2.ROTATE_90_COUNTERCLOCKWISE) for f in seq.frames])
    window = make_window(qtbot, settings)
    window.open_spec(str(sideways))
    wait_until_finished(qtbot, window, 60_000)
    assert window.results.faces_seen == 0
    assert "no face" in window.banner.text() and "Turn frames" in window.banner.text()
    turned = settings.copy()
    turned.rotate = 90
    window.apply_settings(turned)
    window.open_spec(str(sideways))
    qtbot.waitUntil(lambda: window.results.faces_seen == 45 and not window.pipeline.is_analysing(), timeout=60_000)
    assert window.results.frame_count() == 45
    assert window.source_info.frame_size == (640, 480)
    assert AppSettings.load(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)).rotate == 90


def test_a_larger_face_coming_into_view_is_said_in_the_window(qtbot, settings, data_root, tmp_path):
    """The tracker's switch to another person lasts one frame in the caption: the window says it in its
    message bar, with the time from which the new face is followed."""
    from frl_core.synth import render_sequence
    from tests.scenes import with_another_face

    frames = list(with_another_face(render_sequence(fps=30, n_frames=320, seed=2).frames, data_root))
    window = make_window(qtbot, settings)
    window.open_spec(str(write_clip(tmp_path / "two_faces.avi", frames)))
    qtbot.waitUntil(lambda: "another, larger face" in window.banner.text(), timeout=60_000)
    assert "10.00 s (frame 300)" in window.banner.text()


def test_the_face_followed_leaving_the_picture_is_said_in_the_window(qtbot, settings, data_root, tmp_path):
    """The person followed leaves while another stays in view: the message bar says the face changed, why,
    and from when."""
    from frl_core.synth import render_sequence
    from tests.scenes import another_face_leaving

    frames = list(another_face_leaving(render_sequence(fps=30, n_frames=200, seed=2).frames, data_root, 150))
    window = make_window(qtbot, settings)
    window.open_spec(str(write_clip(tmp_path / "one_leaves.avi", frames)))
    qtbot.waitUntil(lambda: "was lost and a face found elsewhere" in window.banner.text(), timeout=60_000)
    assert "5.00 s (frame 150)" in window.banner.text()


def test_an_interval_left_out_at_an_exposure_step_is_told_in_the_banner(qtbot, settings):
    """The engine left an interval out because the camera changed its brightness: the user reads why in the
    banner instead of wondering where a movement went."""
    from frl_core.engine.analysis import exposure_step_message

    window = make_window(qtbot, settings)
    window._on_results([FrameResult(index=90, timestamp=3.0, face=None, motion_score=float("nan"),
                                    threshold=0.3, message=exposure_step_message(2.1, 2.4))])
    assert "Interval 2.10-2.40 s left out as an exposure step" in window.banner.text()
    assert window.banner.isVisible()


def test_talking_left_out_is_told_in_the_banner_shaded_and_exported(qtbot, settings, tmp_path):
    """A train of mouth movements was left out as speech: the banner says from when and which setting keeps
    them, the spotting chart shades it, and the exported events list it as the CLI does."""
    from frl_core.engine.analysis import speech_message

    window = make_window(qtbot, settings)
    window._on_results([FrameResult(index=200, timestamp=6.6, face=None, motion_score=float("nan"),
                                    threshold=0.3, message=speech_message(5.03))])
    assert "Repeated mouth movements from 5.03 s left out as speech" in window.banner.text()
    assert "Settings ▸ Speech" in window.banner.text()
    before = len(window.score_chart.regions)
    window._on_results([FrameResult(index=201, timestamp=6.63, face=None,
                                    left_out=((5.03, 5.2, "speech", 151, 153, 156),))])
    shaded = window.score_chart.regions[before:]
    assert [tuple(round(v, 2) for v in r.getRegion()) for r in shaded] == [(5.03, 5.2)]
    exported = window.export_events_json(tmp_path / "events.json")
    assert json.loads(exported.read_text())["metadata"]["left_out_as_speech"] == [[151, 153, 156]]


def test_a_damaged_or_resized_frame_file_is_shown_as_a_warning_and_the_folder_played_to_its_end(qtbot, settings, tmp_path,
                                                                                      face_clip):
    folder = tmp_path / "frames"
    folder.mkdir()
    capture = cv2.VideoCapture(str(face_clip))
    count = 0
    while count < 30:
        ok, frame = capture.read()
        if not ok:
            break
        count += 1
        cv2.imwrite(str(folder / f"img{count}.png"), frame)
    capture.release()
    (folder / "img12.png").write_bytes(b"damaged")
    thumbnail = cv2.imread(str(folder / "img20.png"))
    cv2.imwrite(str(folder / "img20.png"), cv2.resize(thumbnail, (thumbnail.shape[1] // 2, thumbnail.shape[0] // 2)))
    window = make_window(qtbot, settings)
    window.open_spec(str(folder))
    wait_until_finished(qtbot, window, 60_000)
    assert window.results.frame_count() == count
    assert "img12.png could not be decoded" in window.banner.text()
    assert "img20.png is not" in window.banner.text()
    exported = tmp_path / "events.json"
    window.export_events_json(str(exported))
    notices = json.loads(exported.read_text())["metadata"]["source_notices"]
    assert any("img12.png" in n for n in notices) and any("img20.png" in n for n in notices)


def test_a_video_damaged_in_the_middle_is_played_to_its_end_with_a_warning(qtbot, settings, tmp_path):
    from tests.test_sources import _damaged_mp4

    _damaged_mp4(tmp_path / "damaged.mp4")
    window = make_window(qtbot, settings)
    window.open_spec(str(tmp_path / "damaged.mp4"))
    wait_until_finished(qtbot, window, 60_000)
    assert window.results.frame_count() == 60
    assert "could not be decoded (from frame" in window.banner.text()
    assert any("could not be decoded" in n for n in window.source_notices)
