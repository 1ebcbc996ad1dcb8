"""Clip mode: one input, one movement. The apex search on rendered faces and on the real CASME II clip,
``analyze --clip`` writing the usual files with one event, ``recognize`` on a pair, and every bad input as
one line with its exit code."""

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from frl_core import synth
from frl_core.engine import cli as analyze_cli
from frl_core.engine import cli_recognize
from frl_core.engine.analysis import EngineConfig
from frl_core.engine.clip import ClipAnalyzer, ClipError, check_frames, find_apex, smooth_curve
from tests.cli_helpers import error_line, run_command  # noqa: E402

SEQUENCE = Path("sequences") / "casme2_sub_clip_resampled"


_run = run_command


_error_line = error_line


@pytest.fixture(scope="module")
def smile_clip(tmp_path_factory):
    """A 17-frame folder of a rendered face: a smile from frame 0, apex 7, back to neutral at 16."""
    event = synth.SyntheticEvent(0, 7, 16, "smile", 3.0)
    seq = synth.render_sequence(None, fps=30, events=[event], n_frames=17, seed=1, size=(320, 240),
                                head_motion=synth.HeadMotion(translation=1.0, rotation_deg=0.2))
    folder = tmp_path_factory.mktemp("clip") / "smile"
    folder.mkdir()
    for i, frame in enumerate(seq.frames):
        cv2.imwrite(str(folder / f"img{i + 1}.jpg"), frame)
    return folder, seq


def test_smoothing_skips_missing_faces_and_keeps_them_missing():
    curve = smooth_curve(np.array([0.0, 3.0, np.nan, 3.0, 9.0]), 1)
    assert curve[0] == 1.5 and np.isnan(curve[2]) and curve[3] == 6.0 and curve[4] == 6.0


def test_the_apex_is_the_smoothed_peak_and_a_plateau_keeps_its_later_end():
    assert find_apex(np.array([0.0, 1.0, 5.0, 2.0]), 0, 3) == 2
    assert find_apex(np.array([0.0, 4.0, 4.0, 1.0]), 0, 3) == 2
    assert find_apex(np.array([9.0, 1.0, 2.0, 3.0]), 0, 2) == 2  # never the onset, never past the offset


@pytest.mark.parametrize("n, onset, apex, offset, words", [
    (1, None, None, None, "at least 2 frames"),
    (10, 5, 3, None, "must come after the onset"),
    (10, 4, 4, None, "must come after the onset"),
    (10, None, None, 12, "outside the clip"),
    (10, -1, None, None, "outside the clip"),
    (10, 9, None, None, "before the offset"),
    (10, None, 8, 6, "not after the offset"),
])
def test_bad_frame_numbers_are_refused(n, onset, apex, offset, words):
    with pytest.raises(ClipError, match=words):
        check_frames(n, onset, apex, offset)


def test_the_apex_search_finds_a_rendered_smiles_apex(smile_clip):
    folder, seq = smile_clip
    frames = [cv2.imread(str(p)) for p in sorted(folder.iterdir(), key=lambda p: int(p.stem[3:]))]
    result = ClipAnalyzer(EngineConfig(fps=30, recognize=False)).analyse(frames, 30.0)
    event = result.event
    assert (event.onset_index, event.offset_index) == (0, 16) and result.apex_found
    assert abs(event.apex_index - seq.events[0].apex) <= 1
    # the displacement is measured on the found pair and is largest at the mouth corners
    strongest = max(event.region_magnitude, key=event.region_magnitude.get)
    assert "mouth" in strongest and event.label is None


def test_first_frames_the_detector_misses_are_tracked_back_from_the_first_face(smile_clip):
    """The onset is the clip's first frame: losing it to a missed detection would move the onset."""
    folder, _ = smile_clip
    frames = [cv2.imread(str(p)) for p in sorted(folder.iterdir(), key=lambda p: int(p.stem[3:]))]
    frames[:2] = [cv2.GaussianBlur(f, (0, 0), 4) for f in frames[:2]]
    result = ClipAnalyzer(EngineConfig(recognize=False)).analyse(frames, 30.0)
    assert all(r.face is not None for r in result.frames) and result.event.onset_index == 0 and not result.notes


def test_a_failed_recognition_keeps_the_event_with_its_flow_and_says_why(smile_clip):
    class OutOfMemory:
        class_names = ("negative", "positive", "surprise")

        def recognize(self, pairs):
            raise RuntimeError("CUDA out of memory\nlong trace")

    folder, _ = smile_clip
    frames = [cv2.imread(str(folder / f"img{i}.jpg")) for i in range(1, 18)]
    result = ClipAnalyzer(EngineConfig(), OutOfMemory()).analyse(frames, 30.0)
    assert result.recognition_error is not None and "CUDA out of memory" in str(result.recognition_error)
    assert result.event.label is None and result.event.displacement.shape == (2, 224, 224)
    assert max(result.event.region_magnitude.values()) > 0.3


def test_a_clip_without_a_face_says_so():
    blank = [np.full((120, 160, 3), 90, np.uint8)] * 4
    with pytest.raises(ClipError, match="no face") as info:
        ClipAnalyzer(EngineConfig(recognize=False)).analyse(blank, 30.0)
    assert info.value.reason == "no_face"


def test_the_real_casme2_clip_has_its_apex_on_its_plateau(data_root):
    """The clip runs from onset towards the apex (the data's README); the composite's apex face of this clip is
    its frame 004, and its AU-region motion from frame 001 rises to 004 and stays near that level (a plateau
    within a few percent; docs/clip_mode.md has the figures). The apex is found on the plateau, not in the rise."""
    paths = sorted((data_root / SEQUENCE).glob("*.jpg"))
    frames = [cv2.imread(str(p)) for p in paths]
    for fps in (30.0, 200.0):
        result = ClipAnalyzer(EngineConfig(fps=fps, recognize=False)).analyse(frames, fps)
        curve = result.apex_curve
        assert result.event.apex_index >= 3, (fps, curve)
        assert curve[result.event.apex_index] > 1.2 * curve[1], (fps, curve)


def test_analyze_clip_writes_one_event_in_the_usual_files(smile_clip, tmp_path, capsys):
    folder, _ = smile_clip
    out = tmp_path / "out"
    code, stdout, err = _run(analyze_cli, [folder, "--clip", "--out", out], capsys)
    assert code == 0, err
    assert "assuming 30 fps" in err and "--fps" in err  # a folder's rate is an assumption, said once
    doc = json.loads((out / "events.json").read_text())
    assert doc["metadata"]["mode"] == "clip" and doc["metadata"]["complete"] is True
    (event,) = doc["events"]
    assert abs(event["apex_index"] - 7) <= 1 and event["onset_index"] == 0 and event["offset_index"] == 16
    assert event["label"] and set(event["probabilities"]) == {"negative", "positive", "surprise"}
    assert event["label"] in stdout or "uncertain" in stdout
    rows = list(csv.DictReader(open(out / "events.csv")))
    assert len(rows) == 1 and rows[0]["apex_index"] == str(event["apex_index"])
    frames = list(csv.DictReader(open(out / "frames.csv")))
    assert len(frames) == 17
    scores = [float(r["motion_score"]) for r in frames]
    assert int(np.argmax(scores)) == event["apex_index"]
    assert len(list((out / "events").glob("*.png"))) == 1
    from frl_core import results

    loaded = results.load(out)  # clip mode's outputs carry the same schema the loader reads
    assert loaded.metadata["schema_version"] >= 1 and loaded.metadata["weights_sha256"]
    assert len(loaded.events) == 1 and len(loaded.frames) == 17


def test_analyze_clip_takes_given_frames_and_the_fps(smile_clip, tmp_path, capsys):
    folder, _ = smile_clip
    out = tmp_path / "out"
    code, stdout, err = _run(analyze_cli, [folder, "--onset", 2, "--apex", 5, "--offset", 12, "--fps", 200,
                                           "--out", out, "--no-recognition", "--no-png"], capsys)
    assert code == 0, err
    assert "assuming" not in err
    (event,) = json.loads((out / "events.json").read_text())["events"]
    assert (event["onset_index"], event["apex_index"], event["offset_index"]) == (2, 5, 12)
    assert event["onset_time"] == pytest.approx(0.01) and "given" in stdout


def test_analyze_clip_on_a_video_file(smile_clip, tmp_path, capsys):
    _, seq = smile_clip
    video = synth.write_video(seq, tmp_path / "smile.mp4")
    code, _, err = _run(analyze_cli, [video, "--clip", "--out", tmp_path / "o", "--no-recognition", "--no-png"],
                        capsys)
    assert code == 0, err
    assert "assuming" not in err  # a video carries its rate
    (event,) = json.loads((tmp_path / "o" / "events.json").read_text())["events"]
    assert abs(event["apex_index"] - 7) <= 1 and event["offset_index"] == 16


@pytest.mark.parametrize("extra, words", [
    (["--onset", "5", "--apex", "3"], "must come after the onset"),
    (["--apex", "40"], "outside the clip"),
    (["--onset", "16"], "before the offset"),
    (["--video-out"], "not available in clip mode"),
])
def test_analyze_clip_refuses_bad_frames(smile_clip, tmp_path, capsys, extra, words):
    folder, _ = smile_clip
    code, _, err = _run(analyze_cli, [folder, "--clip", "--out", tmp_path / "o", "--no-recognition", *extra], capsys)
    assert code == analyze_cli.EXIT_BAD_INPUT and words in _error_line(err)
    assert not (tmp_path / "o").exists()


def test_analyze_clip_with_an_unreadable_frame(smile_clip, tmp_path, capsys):
    folder, _ = smile_clip
    broken = tmp_path / "broken"
    broken.mkdir()
    for p in sorted(folder.iterdir())[:4]:
        (broken / p.name).write_bytes(p.read_bytes())
    (broken / "img99.jpg").write_bytes(b"not a jpeg")
    code, _, err = _run(analyze_cli, [broken, "--clip", "--out", tmp_path / "o", "--no-recognition"], capsys)
    assert code == analyze_cli.EXIT_BAD_INPUT and "img99.jpg" in _error_line(err)


def test_analyze_clip_without_a_face(tmp_path, capsys):
    folder = tmp_path / "blank"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"img{i}.png"), np.full((120, 160, 3), 90, np.uint8))
    code, _, err = _run(analyze_cli, [folder, "--clip", "--out", tmp_path / "o", "--no-recognition"], capsys)
    assert code == analyze_cli.EXIT_NO_FACE and "--whole-frame" in _error_line(err)


def test_spotting_a_too_short_input_suggests_clip_mode(smile_clip, tmp_path, capsys):
    folder, _ = smile_clip
    code, stdout, err = _run(analyze_cli, [folder, "--out", tmp_path / "o", "--no-recognition", "--no-progress"],
                             capsys)
    assert code == 0 and "0 events" in stdout
    assert "17 frames, fewer than the 37" in err and "--clip" in err
    assert sum("assuming 30 fps" in line for line in err.splitlines()) == 1


def test_recognize_a_pair(smile_clip, tmp_path, capsys):
    folder, _ = smile_clip
    out = tmp_path / "pair.json"
    code, stdout, err = _run(cli_recognize, [folder / "img1.jpg", folder / "img8.jpg", "--json", "--out", out],
                             capsys)
    assert code == 0, err
    doc = json.loads(stdout)
    assert doc == json.loads(out.read_text())
    assert set(doc["probabilities"]) == {"negative", "positive", "surprise"}
    assert abs(sum(doc["probabilities"].values()) - 1) < 1e-4 and doc["label"]
    assert max(doc["region_magnitude"], key=doc["region_magnitude"].get).endswith("mouth_corner")


@pytest.mark.parametrize("make, code_expected, words", [
    (lambda d: d / "missing.jpg", 2, "no such image"),
    (lambda d: (d / "bad.jpg").write_bytes(b"xx") and d / "bad.jpg", 2, "cannot read image"),
    (lambda d: cv2.imwrite(str(d / "grey.png"), np.full((80, 80, 3), 90, np.uint8)) and d / "grey.png", 3,
     "no face"),
])
def test_recognize_bad_images(smile_clip, tmp_path, capsys, make, code_expected, words):
    folder, _ = smile_clip
    code, _, err = _run(cli_recognize, [folder / "img1.jpg", make(tmp_path)], capsys)
    assert code == code_expected and words in _error_line(err)
