"""``python main.py analyze``: bad input gives a one-line reason and the right exit code; good input
writes the result files."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from frl_core.engine import cli as analyze_cli
from tests.cli_helpers import error_line, run_command  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def _run(argv, capsys):
    return run_command(analyze_cli, argv, capsys)


_error_line = error_line


def test_missing_file(tmp_path, capsys):
    code, _, err = _run([tmp_path / "missing.mp4", "--out", tmp_path / "o"], capsys)
    assert code == analyze_cli.EXIT_BAD_INPUT
    assert "no such file or folder" in _error_line(err)


def test_unreadable_video(tmp_path, capsys):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00garbage" * 500)
    code, _, err = _run([bad, "--out", tmp_path / "o"], capsys)
    assert code == analyze_cli.EXIT_BAD_INPUT
    assert "cannot read video" in _error_line(err)


def test_a_text_file_that_ffmpeg_would_render_as_frames_is_refused_as_text(tmp_path, capsys):
    """FFmpeg's tty demuxer decodes a .txt file as ANSI art (66 frames for the README): that is bad input
    (exit 2), not a video without a face (exit 3)."""
    notes = tmp_path / "notes.txt"
    notes.write_text((Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8"),
                     encoding="utf-8")
    code, _, err = _run([notes, "--out", tmp_path / "o"], capsys)
    assert code == analyze_cli.EXIT_BAD_INPUT
    assert _error_line(err).endswith("it is a text file, not a video")


def test_empty_folder(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code, _, err = _run([tmp_path / "empty", "--out", tmp_path / "o"], capsys)
    assert code == analyze_cli.EXIT_BAD_INPUT
    assert "holds no images" in _error_line(err)


def test_bad_fps_option(tmp_path, capsys):
    code, _, err = _run([tmp_path, "--fps", "-3"], capsys)
    assert code == analyze_cli.EXIT_BAD_INPUT and "--fps" in _error_line(err)


@pytest.fixture(scope="module")
def face_video(tmp_path_factory):
    from frl_core import synth

    seq = synth.render_sequence(None, fps=30, events=[synth.micro_event(40, 30, "smile", 3.0)], seed=5,
                                n_frames=110, head_motion=synth.HeadMotion(translation=1.5, rotation_deg=0.3))
    return synth.write_video(seq, tmp_path_factory.mktemp("video") / "face.mp4"), seq


def test_spot_only_run_writes_every_output(face_video, tmp_path, capsys):
    video, seq = face_video
    out = tmp_path / "out"
    code, stdout, err = _run([video, "--out", out, "--no-recognition", "--video-out", "--no-progress"], capsys)
    assert code == 0, err
    assert "110 frames" in stdout
    assert "spotted only" in stdout and "on off" not in stdout  # the summary said "1 events ... on off"
    frames = list(csv.DictReader(open(out / "frames.csv")))
    assert len(frames) == 110 and all(r["face_found"] == "1" for r in frames)
    doc = json.loads((out / "events.json").read_text())
    truth = seq.events[0]
    # The two-sided spotting score, the one the threshold applies to, peaks at the event.
    spotting = np.array([float(r["spotting_score"] or "nan") for r in frames])
    assert np.isfinite(spotting).sum() > 50 and abs(int(np.nanargmax(spotting)) - truth.apex) <= 3
    assert any(abs(e["apex_index"] - truth.apex) <= 3 for e in doc["events"]), doc["events"]
    assert doc["metadata"]["frames"] == 110 and doc["metadata"]["device"] == "off"
    assert len(list(csv.DictReader(open(out / "events.csv")))) == len(doc["events"])
    pngs = sorted((out / "events").glob("*.png"))
    assert len(pngs) == len(doc["events"]) and cv2.imread(str(pngs[0])) is not None
    cap = cv2.VideoCapture(str(out / "annotated.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 110


def test_no_face_at_all(tmp_path, capsys):
    folder = tmp_path / "blank"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"img{i}.png"), np.full((120, 160, 3), 90, np.uint8))
    code, _, err = _run([folder, "--out", tmp_path / "o", "--no-recognition", "--no-progress"], capsys)
    assert code == analyze_cli.EXIT_NO_FACE
    assert "no face found in any of the 3 frames" in _error_line(err)


def test_bad_weights_file(face_video, tmp_path, capsys):
    video, _ = face_video
    weights = tmp_path / "weights.pt"
    weights.write_bytes(b"not a checkpoint")
    code, _, err = _run([video, "--out", tmp_path / "o", "--weights", weights, "--no-progress"], capsys)
    assert code == analyze_cli.EXIT_BAD_WEIGHTS
    assert "weights" in _error_line(err)


def test_missing_weights_file(face_video, tmp_path, capsys):
    video, _ = face_video
    code, _, err = _run([video, "--out", tmp_path / "o", "--weights", tmp_path / "nope.pt"], capsys)
    assert code == analyze_cli.EXIT_BAD_WEIGHTS
    assert "not found" in _error_line(err)


def test_main_entry_point_gives_one_line_and_exit_code(tmp_path):
    result = subprocess.run([sys.executable, "main.py", "analyze", str(tmp_path / "missing.mp4")], cwd=REPO,
                            capture_output=True, text=True)
    assert result.returncode == analyze_cli.EXIT_BAD_INPUT
    assert result.stderr.strip().startswith("error: no such file or folder")
    assert len(result.stderr.strip().splitlines()) == 1


def test_cuda_asked_without_a_gpu(face_video, tmp_path, capsys):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    weights = tmp_path / "w.pt"
    from frl_core.models import create_model
    from frl_core.models.checkpoint import save_checkpoint

    save_checkpoint(create_model("frl_dgt_small", input_mode="pair"), weights, metadata={})
    video, _ = face_video
    code, _, err = _run([video, "--out", tmp_path / "o", "--weights", weights, "--device", "cuda"], capsys)
    assert code == analyze_cli.EXIT_BAD_INPUT
    assert "CUDA" in _error_line(err)


def test_a_missing_requirement_gives_the_install_command_not_a_traceback(monkeypatch, capsys):
    import main as cli

    def import_without_torch(name, *args, **kwargs):
        raise ModuleNotFoundError("No module named 'torch'", name="torch")

    monkeypatch.setattr(cli.importlib, "import_module", import_without_torch)
    assert cli.main(["bench", "model"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "'torch' is not installed" in err and "pip install -r requirements.txt" in err


def test_a_missing_module_of_our_own_is_not_hidden_as_an_install_problem(monkeypatch):
    import main as cli

    def broken_import(name, *args, **kwargs):
        raise ModuleNotFoundError("No module named 'frl_core.nothing'", name="frl_core.nothing")

    monkeypatch.setattr(cli.importlib, "import_module", broken_import)
    with pytest.raises(ModuleNotFoundError):
        cli.main(["bench", "model"])


@pytest.mark.parametrize("extra, words", [
    (["--max-frames", "0"], "--max-frames"),
    (["--max-frames", "-5"], "--max-frames"),
    (["--duration", "-1"], "--duration"),
    (["--batch", "0"], "--batch"),
    (["--video-out", "../outside.avi"], "inside --out"),
])
def test_bad_run_options_are_refused_before_any_work(tmp_path, capsys, extra, words):
    video = REPO / "assets" / "demo" / "demo.mp4"
    code, _, err = _run([video, "--out", tmp_path / "o", *extra], capsys)
    assert code == analyze_cli.EXIT_BAD_INPUT and words in _error_line(err)
    assert not (tmp_path / "o").exists() and not (tmp_path / "outside.avi").exists()


def test_a_huge_camera_index_is_a_message_not_a_traceback(tmp_path, capsys):
    code, _, err = _run(["99999999999999999999", "--out", tmp_path / "o"], capsys)
    assert code == analyze_cli.EXIT_BAD_INPUT and "no camera at index" in _error_line(err)


DEMO = REPO / "assets" / "demo" / "demo.mp4"


def _events_json(out):
    return json.loads((out / "events.json").read_text())


def test_a_full_run_says_it_is_complete(tmp_path, capsys):
    code, _, _ = _run([DEMO, "--out", tmp_path / "o", "--no-recognition", "--no-progress", "--no-png"], capsys)
    doc = _events_json(tmp_path / "o")
    assert code == 0 and doc["metadata"]["complete"] is True and len(doc["events"]) == 5
    assert [e["while_talking"] for e in doc["events"]] == [False] * 5  # nobody talks in the demo


def test_disk_full_while_writing_pictures_keeps_the_events_found(tmp_path, capsys, monkeypatch):
    import frl_core.io.exports as exports

    real, written = exports.write_event_png, []

    def fill_the_disk_after_two(out_dir, event):
        if len(written) == 2:
            raise exports.ExportError(f"cannot write {out_dir}/x.png: No space left on device")
        written.append(event)
        return real(out_dir, event)

    monkeypatch.setattr(exports, "write_event_png", fill_the_disk_after_two)
    code, _, err = _run([DEMO, "--out", tmp_path / "o", "--no-recognition", "--no-progress"], capsys)
    assert code == analyze_cli.EXIT_CANNOT_WRITE
    line = _error_line(err)
    assert "No space left" in line and "marked incomplete" in line
    doc = _events_json(tmp_path / "o")
    assert doc["metadata"]["complete"] is False and len(doc["events"]) >= 3
    assert len(list((tmp_path / "o").glob("*.tmp"))) == 0


def test_an_interrupt_keeps_the_events_found_and_marks_the_run_incomplete(tmp_path, capsys, monkeypatch):
    import frl_core.io.exports as exports

    real = exports.FramesCsvWriter.write

    def interrupt_at_frame_400(self, result):
        if self.rows == 400:
            raise KeyboardInterrupt
        real(self, result)

    monkeypatch.setattr(exports.FramesCsvWriter, "write", interrupt_at_frame_400)
    code, _, _ = _run([DEMO, "--out", tmp_path / "o", "--no-recognition", "--no-progress", "--no-png"], capsys)
    doc = _events_json(tmp_path / "o")
    assert code == analyze_cli.EXIT_INTERRUPTED
    assert doc["metadata"]["complete"] is False and doc["metadata"]["frames"] == 400
    assert 2 <= len(doc["events"]) < 5  # the three events before frame 400 (the demo's events start at 75, 195, 315)


def test_a_truncated_file_is_reported_as_ending_early(tmp_path, capsys):
    import cv2

    frames = [np.full((120, 160, 3), i * 3 % 256, np.uint8) for i in range(80)]
    path = tmp_path / "cut.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (160, 120))
    for f in frames:
        writer.write(f)
    writer.release()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    code, _, err = _run([path, "--out", tmp_path / "o", "--no-recognition", "--no-progress"], capsys)
    assert "ended early" in err and "Traceback" not in err
    assert code in (analyze_cli.EXIT_BAD_INPUT, analyze_cli.EXIT_NO_FACE)


def test_ctrl_c_while_starting_is_one_line_not_a_traceback(monkeypatch, capsys):
    import main as entry

    def interrupted_import(name, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(entry.importlib, "import_module", interrupted_import)
    assert entry.main(["analyze", "x.mp4"]) == 130
    assert capsys.readouterr().err.strip() == "interrupted"


def test_frame_probabilities_stream_names_the_smile_while_it_happens(face_video, tmp_path, capsys):
    video, seq = face_video
    out = tmp_path / "out"
    code, _, err = _run([video, "--out", out, "--frame-probabilities", "--no-progress", "--no-png"], capsys)
    assert code == 0, err
    rows = list(csv.DictReader(open(out / "frame_probabilities.csv")))
    assert len(rows) == 110 and rows[0]["reference_index"] == "" and rows[0]["prob_positive"] == ""
    truth = seq.events[0]
    apex = rows[truth.apex]
    probs = {k[5:]: float(v) for k, v in apex.items() if k.startswith("prob_")}
    assert max(probs, key=probs.get) == "positive" and sum(probs.values()) == pytest.approx(1, abs=1e-3)
    assert int(apex["reference_index"]) == truth.apex - 18  # one 0.6 s window back at 30 fps
    meta = json.loads((out / "frame_probabilities.meta.json").read_text())
    assert meta["columns"][-3:] == ["prob_negative", "prob_positive", "prob_surprise"]


def test_frame_probabilities_without_recognition_is_one_line(face_video, tmp_path, capsys):
    code, _, err = _run([face_video[0], "--out", tmp_path / "o", "--frame-probabilities", "--no-recognition"], capsys)
    assert code == analyze_cli.EXIT_BAD_INPUT and "--frame-probabilities needs recognition" in _error_line(err)


def test_a_face_far_from_the_camera_is_reported_as_small(tmp_path, capsys):
    """At a third of its usual size the face's eyes are about 30 px apart: every such frame says so, and
    the summary tells the user what it costs and what helps; the usual size says nothing."""
    from frl_core import synth

    for height, small in ((0.3, True), (0.9, False)):
        seq = synth.render_sequence(None, fps=30, events=[], seed=2, n_frames=45, face_height=height,
                                    head_motion=synth.HeadMotion(translation=1.0))
        video = synth.write_video(seq, tmp_path / f"face_{height}.mp4")
        code, _, err = _run([video, "--out", tmp_path / f"o{height}", "--no-recognition"], capsys)
        assert code == 0
        rows = (tmp_path / f"o{height}" / "frames.csv").read_text().splitlines()
        flagged = sum("small face" in row for row in rows[1:])
        meta = json.loads((tmp_path / f"o{height}" / "events.json").read_text())
        # the stream was spotted with the small-face blur, and its output says so
        assert meta["metadata"]["spotter_blur_applied"] == (1.5 if small else 1.0)
        if small:
            assert flagged > 40 and "note: the face was small" in err and "closer" in err
        else:
            assert flagged == 0 and "small" not in err


def test_a_sideways_video_is_named_and_turned_upright_with_rotate(face_video, tmp_path, capsys):
    """A camera mounted sideways, or a phone video whose rotation flag was lost: the detector finds no upright
    face, the message says which turn shows one, and with it the movement is found where it is."""
    _video, seq = face_video
    sideways = tmp_path / "sideways.mp4"
    h, w = seq.frames[0].shape[:2]
    writer = cv2.VideoWriter(str(sideways), cv2.VideoWriter_fourcc(*"mp4v"), 30, (h, w))
    for frame in seq.frames:
        writer.write(cv2.rotate(frame, cv2.ROTATE_90_COUNTERCLOCKWISE))
    writer.release()
    code, _, err = _run([sideways, "--out", tmp_path / "a", "--no-recognition", "--no-progress", "--max-frames", 15],
                        capsys)
    assert code == analyze_cli.EXIT_NO_FACE
    assert "try --rotate 90" in _error_line(err)
    out = tmp_path / "b"
    code, _, err = _run([sideways, "--out", out, "--no-recognition", "--no-progress", "--no-png", "--rotate", 90],
                        capsys)
    assert code == 0, err
    frames = list(csv.DictReader(open(out / "frames.csv")))
    assert all(r["face_found"] == "1" for r in frames)
    doc = json.loads((out / "events.json").read_text())
    assert any(abs(e["apex_index"] - seq.events[0].apex) <= 3 for e in doc["events"]), doc["events"]
    assert doc["metadata"]["rotated_clockwise_deg"] == 90



def _two_people(tmp_path, frames_of, smile_at: int, seed: int, n_frames: int):
    """A rendered face (one smile at ``smile_at``) with another person beside it as ``frames_of`` (a scene of
    tests/scenes.py) stages them, written as mp4v; its path and the rendered sequence."""
    from frl_core import synth

    seq = synth.render_sequence(None, fps=30, size=(640, 480), events=[synth.micro_event(smile_at, 30, "smile", 3.0)],
                                seed=seed, n_frames=n_frames,
                                head_motion=synth.HeadMotion(translation=1.5, rotation_deg=0.3))
    path = tmp_path / "two_people.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, (960, 480))
    for canvas in frames_of(seq.frames):
        writer.write(canvas)
    writer.release()
    return path, seq


def test_a_larger_face_coming_into_view_is_followed_without_a_false_movement(data_root, tmp_path, capsys):
    """Someone else leans into the picture: the tracker follows the larger face from its next whole-frame
    search, the frame and a note say so, and the change of person is not spotted as a movement (it gave two
    false events)."""
    from frl_core.faces import MSG_SWITCHED
    from tests.scenes import with_another_face

    path, seq = _two_people(tmp_path, lambda frames: with_another_face(frames, data_root), 150, 2, 420)
    out = tmp_path / "out"
    code, _, err = _run([path, "--out", out, "--no-recognition", "--no-progress", "--no-png"], capsys)
    assert code == 0, err
    frames = list(csv.DictReader(open(out / "frames.csv")))
    assert [int(r["index"]) for r in frames if r["message"] == MSG_SWITCHED] == [300]
    assert float(frames[299]["box_x0"]) < 450 < float(frames[301]["box_x0"])
    doc = json.loads((out / "events.json").read_text())
    assert [abs(e["apex_index"] - seq.events[0].apex) <= 3 for e in doc["events"]] == [True], doc["events"]
    assert "another face was followed from frame 300 (a larger face came into view" in err


def test_follow_left_keeps_the_person_on_the_left_when_a_larger_face_comes_into_view(data_root, tmp_path, capsys):
    """A researcher who knows the participant sits on the left says so: the larger face coming in on the right
    is never followed, every frame's face is the left one, and the participant's movement is spotted."""
    from tests.scenes import with_another_face

    path, seq = _two_people(tmp_path, lambda frames: with_another_face(frames, data_root), 330, 2, 420)
    out = tmp_path / "out"
    code, _, err = _run([path, "--out", out, "--follow", "left", "--no-recognition", "--no-progress", "--no-png"],
                        capsys)
    assert code == 0, err
    frames = list(csv.DictReader(open(out / "frames.csv")))
    assert max(float(r["box_x1"]) for r in frames) < 640
    assert "2 faces: kept the one followed" in {r["message"] for r in frames}
    doc = json.loads((out / "events.json").read_text())
    assert [abs(e["apex_index"] - seq.events[0].apex) <= 3 for e in doc["events"]] == [True], doc["events"]
    assert "another face was followed" not in err


def test_talking_is_left_out_listed_and_kept_on_request(tmp_path, capsys):
    """A participant talks, then smiles: the syllables are not reported as micro-expressions, events.json lists
    them and the closing note says how to keep them; --speech-train 0 keeps them."""
    from frl_core import results, synth
    from frl_core.engine.batch import summarise_folder
    from tests.scenes import talking

    events = talking(150, 30, amplitude=3.0) + [synth.micro_event(420, 30, "smile", 3.0)]
    seq = synth.render_sequence(None, fps=30, size=(640, 480), events=events, seed=5, n_frames=540,
                                head_motion=synth.HeadMotion(translation=1.5, rotation_deg=0.3))
    path = synth.encode_video(seq, tmp_path / "talking.mp4")
    code, _, err = _run([path, "--out", tmp_path / "out", "--no-recognition", "--no-progress", "--no-png"], capsys)
    assert code == 0, err
    doc = json.loads((tmp_path / "out" / "events.json").read_text())
    assert [e["onset_index"] <= 425 <= e["offset_index"] for e in doc["events"]] == [True]
    assert [e["while_talking"] for e in doc["events"]] == [False]  # the smile came seconds after the talking
    left_out = doc["metadata"]["left_out_as_speech"]
    assert len(left_out) >= 3 and all(150 <= apex <= 300 for _, apex, _ in left_out)
    assert doc["metadata"]["spotter_settings"]["speech_train"] == 3
    assert "left out as speech" in err and "--speech-train 0" in err and "ended early" not in err
    assert summarise_folder(tmp_path / "out")["left_out_as_speech"] == len(left_out)
    read_back = results.load(tmp_path / "out")
    speech = read_back.left_out_as_speech
    assert list(speech["apex_index"]) == [apex for _, apex, _ in left_out]
    assert abs(speech["apex_time"].iloc[0] - left_out[0][1] / 30) < 0.02
    timeline = results.plot_score_timeline(read_back)
    assert ((timeline == 225).all(axis=2)).sum() > 100  # the talking shaded on the spotting chart
    frames = list(csv.DictReader(open(tmp_path / "out" / "frames.csv")))
    assert any("left out as speech" in r["message"] for r in frames)
    code, _, err = _run([path, "--out", tmp_path / "kept", "--speech-train", "0", "--no-recognition", "--no-progress",
                         "--no-png"], capsys)
    kept = json.loads((tmp_path / "kept" / "events.json").read_text())
    assert code == 0 and len(kept["events"]) >= 4 and kept["metadata"]["left_out_as_speech"] == []
    assert {e["while_talking"] for e in kept["events"]} == {None}  # the mouth was not followed: not known
    with pytest.raises(SystemExit) as stop:
        _run([path, "--speech-train", "-1"], capsys)
    assert stop.value.code == 2 and "2 or more" in capsys.readouterr().err


@pytest.mark.parametrize("seed", [6, 7])
def test_a_smile_on_a_head_turning_in_depth_is_found(tmp_path, capsys, seed):
    """A person turns their head up to five degrees each way while a 3 px smile comes and goes: the turns are taken
    out of spotting too and the smile is the one event, not marked as made while talking (with --no-head-turns, as
    the spotter was before, on these scenes the smile is missed, a turn is reported with it, or the turning lips
    read as talking); the settings record the choice."""
    from frl_core import synth

    seq = synth.render_sequence(None, fps=30, size=(640, 480), events=[synth.micro_event(300, 30, "smile", 3.0)],
                                seed=seed, n_frames=480,
                                head_motion=synth.HeadMotion(translation=1.5, rotation_deg=0.3, turn_deg=(5.0, 5.0),
                                                             turn_periods_s=(4.0, 5.0)))
    path = synth.encode_video(seq, tmp_path / "turning.mp4")
    code, _, err = _run([path, "--out", tmp_path / "out", "--no-recognition", "--no-progress", "--no-png"], capsys)
    assert code == 0, err
    doc = json.loads((tmp_path / "out" / "events.json").read_text())
    assert [(e["onset_index"] <= 305 <= e["offset_index"]) for e in doc["events"]] == [True]
    assert [e["while_talking"] for e in doc["events"]] == [False]  # the turning lips are not taken for talking
    assert doc["metadata"]["spotter_settings"]["head_turn"] is True
    code, _, err = _run([path, "--out", tmp_path / "left_in", "--no-head-turns", "--no-recognition", "--no-progress",
                         "--no-png"], capsys)
    doc = json.loads((tmp_path / "left_in" / "events.json").read_text())
    assert code == 0 and doc["metadata"]["spotter_settings"]["head_turn"] is False


def test_a_face_left_when_its_person_leaves_is_followed_afresh(data_root, tmp_path, capsys):
    """The person followed leaves the picture while another stays in view: the tracker takes the other face
    in that frame, the frame and a note say the face changed, and the change of person is not spotted as a
    movement; the other person's own movement afterwards is."""
    from frl_core.faces import MSG_REPLACED
    from tests.scenes import another_face_leaving

    path, seq = _two_people(tmp_path, lambda frames: another_face_leaving(frames, data_root, leaves_at=150), 330, 4,
                            450)
    out = tmp_path / "out"
    code, _, err = _run([path, "--out", out, "--no-recognition", "--no-progress", "--no-png"], capsys)
    assert code == 0, err
    frames = list(csv.DictReader(open(out / "frames.csv")))
    assert float(frames[149]["box_x0"]) > 450 > float(frames[150]["box_x0"])
    assert [int(r["index"]) for r in frames if r["message"] == MSG_REPLACED] == [150]
    doc = json.loads((out / "events.json").read_text())
    assert [abs(e["apex_index"] - seq.events[0].apex) <= 3 for e in doc["events"]] == [True], doc["events"]
    assert "another face was followed from frame 150" in err


def test_analyze_says_it_left_out_an_interval_across_an_exposure_step(tmp_path, capsys):
    """The camera brightens the picture by 12 % while a smile starts: `analyze` reports no movement there and says
    it left one interval out; `--exposure-step 0` keeps it, and a limit that is no fraction is refused."""
    from frl_core import synth

    seq = synth.render_sequence(None, fps=30, size=(640, 480), events=[synth.micro_event(60, 30, "smile", 3.0)],
                                seed=4, n_frames=150, head_motion=synth.HeadMotion(translation=1.0, rotation_deg=0.3))
    onset = seq.events[0].onset
    path = tmp_path / "step.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, (640, 480))
    for i, frame in enumerate(seq.frames):
        gain = 1.0 + 0.12 * min(max((i - onset - 1) / 4.0, 0.0), 1.0)
        writer.write(np.clip(frame.astype(np.float32) * gain, 0, 255).astype(np.uint8))
    writer.release()
    out = tmp_path / "out"
    code, _, err = _run([path, "--out", out, "--no-recognition", "--no-progress", "--no-png"], capsys)
    assert code == 0, err
    assert json.loads((out / "events.json").read_text())["events"] == []
    assert "1 spotted interval across a change of the camera's exposure" in err
    code, _, err = _run([path, "--out", tmp_path / "kept", "--no-recognition", "--no-progress", "--no-png",
                         "--exposure-step", "0"], capsys)
    assert code == 0 and "exposure" not in err
    events = json.loads((tmp_path / "kept" / "events.json").read_text())["events"]
    assert [abs(e["apex_index"] - seq.events[0].apex) <= 3 for e in events] == [True], events
    with pytest.raises(SystemExit):
        _run([path, "--exposure-step", "1.5"], capsys)


def test_a_damaged_frame_in_a_folder_is_named_and_the_rest_analysed(tmp_path, capsys):
    capture = cv2.VideoCapture(str(DEMO))
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(1, 61):
        ok, frame = capture.read()
        assert ok
        cv2.imwrite(str(folder / f"img{i}.jpg"), frame)
    capture.release()
    (folder / "img30.jpg").write_bytes(b"truncated by a bad copy")
    code, _, err = _run([folder, "--out", tmp_path / "o", "--no-recognition", "--no-progress", "--no-png"], capsys)
    doc = _events_json(tmp_path / "o")
    assert code == 0 and "Traceback" not in err
    assert "could not be decoded (img30.jpg)" in err
    assert doc["metadata"]["frames"] == 60 and doc["metadata"]["complete"] is True
    assert doc["metadata"]["unreadable_frames"] == ["img30.jpg"]


def test_a_file_a_few_frames_short_of_its_announced_count_is_not_called_truncated(face_video, tmp_path, capsys,
                                                                                 monkeypatch):
    """Containers often announce an estimate (duration times frame rate): a public clip announcing 98 frames of which
    ffmpeg itself decodes 95 was reported as a truncated or damaged file. A few frames short is a whole file; a
    file cut in half still gets the warning (the test above)."""
    from frl_core.io import sources

    real_open = sources.open_source

    def announcing_more(*args, **kwargs):
        source = real_open(*args, **kwargs)
        source.frame_count += 3
        return source

    monkeypatch.setattr(sources, "open_source", announcing_more)
    path, _ = face_video
    code, _, err = _run([path, "--out", tmp_path / "o", "--no-recognition", "--no-progress", "--no-png"], capsys)
    assert code == 0, err
    assert "ended early" not in err
