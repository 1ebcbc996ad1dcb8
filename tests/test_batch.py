"""``python main.py batch``: a corpus of inputs, each analysed as ``analyze`` would, failures recorded while the
others go on, complete inputs skipped on a rerun, on this process, local worker processes or Ray."""

import argparse
import csv
import json
import os
import sys
from pathlib import Path

import pytest

from frl_core.engine import batch
from frl_core.engine import cli as analyze_cli


def _run(argv, capsys, **kwargs):
    parser = argparse.ArgumentParser()
    batch.add_arguments(parser)
    code = batch.run(parser.parse_args([str(a) for a in argv]), **kwargs)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


def _table(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """Two short generated face videos, each with one micro-expression."""
    from frl_core import synth

    folder = tmp_path_factory.mktemp("clips")
    for k in range(2):
        seq = synth.render_sequence(None, fps=30, size=(320, 240), seed=k, n_frames=75,
                                    events=[synth.micro_event(30, 30, "smile", 3.0)])
        synth.write_video(seq, folder / f"clip{k}.mp4")
    return folder


def test_a_corpus_with_bad_inputs_records_them_and_analyses_the_rest(clips, tmp_path, capsys):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00garbage" * 500)
    manifest = tmp_path / "corpus.csv"
    manifest.write_text("path,subject,fps,truth\n"
                        f"{clips / 'clip0.mp4'},s1,,t0.csv\n"
                        "broken.mp4,s2,,\n"
                        f"{clips / 'clip1.mp4'},s3,abc,\n"
                        ",s4,,\n")
    out = tmp_path / "out"
    code, stdout, err = _run([manifest, clips / "*.mp4", tmp_path / "missing.mp4", "--out", out, "--workers", "1",
                              "--no-recognition", "--no-progress"], capsys)
    assert code == batch.EXIT_SOME_FAILED
    assert err.strip().splitlines()[-1] == f"error: 4 of 7 inputs failed (see {out / 'corpus.csv'})"
    rows = {r["id"]: r for r in _table(out / "corpus.csv")}
    assert list(rows) == ["clip0", "broken", "clip1", "corpus_line5", "clip0_2", "clip1_2", "missing"]
    assert [rows[i]["status"] for i in rows] == ["ok", "failed", "failed", "failed", "ok", "ok", "failed"]
    assert "cannot read video" in rows["broken"]["error"] and rows["broken"]["exit_code"] == "2"
    assert rows["clip1"]["error"] == "manifest corpus.csv line 4: fps 'abc' is not a positive number"
    assert rows["corpus_line5"]["error"] == "manifest corpus.csv line 5: empty path"
    assert "no such file or folder" in rows["missing"]["error"]
    assert rows["clip0"]["subject"] == "s1" and rows["clip0"]["truth"] == "t0.csv"  # manifest columns carried
    for name in ("clip0", "clip0_2", "clip1_2"):
        assert rows[name]["frames"] == "75" and rows[name]["fps"] == "30.0" and float(rows[name]["seconds"]) > 0
        assert int(rows[name]["events"]) == int(rows[name]["micro"]) + int(rows[name]["macro"]) >= 1
        assert rows[name]["left_out_as_speech"] == "0" and rows[name]["while_talking"] == "0"
        assert {"frames.csv", "events.csv", "events.json"} <= {p.name for p in (out / name).iterdir()}
        assert json.loads((out / name / "events.json").read_text())["metadata"]["complete"] is True
    events = _table(out / "events.csv")
    assert {e["input"] for e in events} == {"clip0", "clip0_2", "clip1_2"}
    assert len(events) == sum(int(rows[i]["events"] or 0) for i in rows)
    assert "3 of 7 inputs analysed" in stdout
    assert sum(bool(r["worker_setup_s"]) for r in rows.values()) == 1  # one worker started once for every input


def test_a_manifest_without_a_path_column_is_refused(tmp_path, capsys):
    manifest = tmp_path / "m.csv"
    manifest.write_text("video,subject\na.mp4,s1\n")
    code, _, err = _run([manifest, "--out", tmp_path / "out", "--workers", "1"], capsys)
    assert code == batch.EXIT_BAD_ARGUMENTS
    assert err.strip() == f"error: manifest {manifest} has no 'path' column (its columns: video, subject)"
    assert not (tmp_path / "out").exists()


def test_a_rerun_skips_complete_inputs_and_retries_failed_ones(clips, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    missing = tmp_path / "later.mp4"
    argv = [clips / "clip0.mp4", clips / "clip1.mp4", missing, "--out", out, "--workers", "1", "--no-recognition",
            "--no-progress"]
    assert _run(argv, capsys)[0] == batch.EXIT_SOME_FAILED
    first = {r["id"]: r for r in _table(out / "corpus.csv")}
    analysed = []
    real = analyze_cli.analyze_input
    monkeypatch.setattr(analyze_cli, "analyze_input", lambda args, **kw: analysed.append(args.input) or real(args, **kw))
    missing.write_bytes((clips / "clip0.mp4").read_bytes())  # the missing recording turns up
    code, stdout, _ = _run(argv, capsys)
    assert code == 0 and analysed == [str(missing)]
    rows = {r["id"]: r for r in _table(out / "corpus.csv")}
    assert rows["clip0"]["resumed"] == "1" and rows["clip0"]["events"] == first["clip0"]["events"]
    assert rows["clip0"]["seconds"] == first["clip0"]["seconds"]
    assert rows["later"]["status"] == "ok" and "(2 already complete)" in stdout
    assert {e["input"] for e in _table(out / "events.csv")} == {"clip0", "clip1", "later"}


def test_unusable_weights_fail_every_input_with_the_reason(clips, tmp_path, capsys):
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"not a checkpoint")
    code, _, _ = _run([clips / "clip0.mp4", "--out", tmp_path / "out", "--workers", "1", "--weights", weights,
                       "--no-progress"], capsys)
    assert code == batch.EXIT_SOME_FAILED
    (row,) = _table(tmp_path / "out" / "corpus.csv")
    assert row["status"] == "failed" and row["exit_code"] == str(analyze_cli.EXIT_BAD_WEIGHTS) and "w.pt" in row["error"]


def test_ray_missing_is_one_line_with_the_install_command(clips, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed: `import ray` fails
    code, _, err = _run([clips / "clip0.mp4", "--out", tmp_path / "out", "--ray", "auto"], capsys)
    assert code == batch.EXIT_BAD_ARGUMENTS
    assert err.strip() == "error: --ray needs Ray, which is not installed: python -m pip install -r requirements-cluster.txt"


def _events(out, name):
    return [{k: v for k, v in e.items()} for e in _table(out / name / "events.csv")]


@pytest.mark.slow
def test_two_local_worker_processes_find_what_one_process_finds(clips, tmp_path, capsys):
    argv = [clips / "*.mp4", "--no-recognition", "--no-progress"]
    assert _run([*argv, "--out", tmp_path / "one", "--workers", "1"], capsys)[0] == 0
    code, stdout, _ = _run([*argv, "--out", tmp_path / "two", "--workers", "2"], capsys)
    assert code == 0 and "(processes, 2 workers)" in stdout
    rows = _table(tmp_path / "two" / "corpus.csv")
    assert all(r["worker"].split(":")[1] != str(os.getpid()) for r in rows)  # analysed in the workers
    for name in ("clip0", "clip1"):
        assert _events(tmp_path / "one", name) == _events(tmp_path / "two", name)


@pytest.mark.slow
def test_a_local_ray_analyses_the_corpus_in_its_actors(clips, tmp_path, capsys):
    pytest.importorskip("ray")
    argv = [clips / "*.mp4", "--no-progress"]
    assert _run([*argv, "--out", tmp_path / "one", "--workers", "1"], capsys)[0] == 0
    code, stdout, _ = _run([*argv, "--out", tmp_path / "ray", "--ray", "local", "--workers", "2"], capsys,
                           ray_init={"num_cpus": 2})
    import ray

    assert not ray.is_initialized()  # the local Ray it started is shut down
    assert code == 0 and "(ray, 2 workers)" in stdout
    rows = _table(tmp_path / "ray" / "corpus.csv")
    assert all(r["status"] == "ok" and r["worker"].split(":")[1] != str(os.getpid()) for r in rows)
    for name in ("clip0", "clip1"):  # labels and probabilities too: the actors loaded the shipped model
        assert _events(tmp_path / "one", name) == _events(tmp_path / "ray", name)


def test_frame_folders_take_the_manifest_frame_rate_name_a_damaged_frame_and_a_faceless_one_fails(tmp_path, capsys):
    import cv2
    import numpy as np

    from frl_core import synth

    seq = synth.render_sequence(None, fps=100, size=(320, 240), seed=3, n_frames=60)
    (tmp_path / "face").mkdir()
    for i, frame in enumerate(seq.frames):
        cv2.imwrite(str(tmp_path / "face" / f"img{i + 1}.jpg"), frame)
    (tmp_path / "face" / "img20.jpg").write_bytes(b"a damaged copy")
    (tmp_path / "blank").mkdir()
    for i in range(5):
        cv2.imwrite(str(tmp_path / "blank" / f"img{i}.png"), np.full((120, 160, 3), 90, np.uint8))
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,fps,session\nface,100,a\nblank,,b\n")
    code, _, _ = _run([manifest, "--out", tmp_path / "out", "--workers", "1", "--no-recognition", "--no-progress"],
                      capsys)
    assert code == batch.EXIT_SOME_FAILED
    face, blank = _table(tmp_path / "out" / "corpus.csv")
    assert (face["id"], face["status"], face["frames"], face["fps"], face["session"]) == ("face", "ok", "60", "100.0", "a")
    assert "could not be decoded (img20.jpg)" in face["warning"]
    assert blank["status"] == "failed" and blank["exit_code"] == str(analyze_cli.EXIT_NO_FACE)
    assert blank["error"].startswith("no face found in any of the 5 frames")


def test_an_interrupt_keeps_the_finished_inputs_and_a_rerun_finishes_the_rest(clips, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    argv = [clips / "clip0.mp4", clips / "clip1.mp4", "--out", out, "--workers", "1", "--no-recognition",
            "--no-progress"]
    real = analyze_cli.analyze_input

    def ctrl_c_on_the_second_input(args, **kwargs):
        if "clip1" in str(args.input):
            raise KeyboardInterrupt
        return real(args, **kwargs)

    monkeypatch.setattr(analyze_cli, "analyze_input", ctrl_c_on_the_second_input)
    code, _, err = _run(argv, capsys)
    assert code == batch.EXIT_INTERRUPTED and "run the same command again" in err
    assert [r["id"] for r in _table(out / "corpus.csv")] == ["clip0"]
    monkeypatch.setattr(analyze_cli, "analyze_input", real)
    code, stdout, _ = _run(argv, capsys)
    assert code == 0 and "(1 already complete)" in stdout
    assert [r["status"] for r in _table(out / "corpus.csv")] == ["ok", "ok"]


def test_bad_options_are_refused_before_any_work(clips, tmp_path, capsys):
    out = tmp_path / "out"
    assert _run([clips / "clip0.mp4", "--out", out, "--workers", "0"], capsys)[0] == batch.EXIT_BAD_ARGUMENTS
    code, _, err = _run([clips / "clip0.mp4", "--out", out, "--weights", tmp_path / "none.pt"], capsys)
    assert code == batch.EXIT_NO_WEIGHTS and err.strip() == f"error: weights file not found: {tmp_path / 'none.pt'}"
    assert not out.exists()


_DRIVER = """
import os, sys, time
from pathlib import Path

from frl_core.parallel import ProcessBackend

def note_pid(folder):
    Path(folder, str(os.getpid())).write_text("")

def long_task(seconds):
    time.sleep(seconds)
    return seconds

if __name__ == "__main__":
    for _ in ProcessBackend(2).run(long_task, [120, 120], setup=note_pid, setup_args=(sys.argv[1],)):
        pass
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_local_workers_end_when_their_driver_is_killed(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "driver.py"
    script.write_text(_DRIVER)
    pids = tmp_path / "pids"
    pids.mkdir()
    root = str(Path(__file__).resolve().parent.parent)
    driver = subprocess.Popen([sys.executable, str(script), str(pids)], cwd=root,
                              env={**os.environ, "PYTHONPATH": root})
    try:
        deadline = time.monotonic() + 60
        while len(list(pids.iterdir())) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        workers = [int(p.name) for p in pids.iterdir()]
        assert len(workers) == 2
        driver.send_signal(signal.SIGKILL)
        driver.wait(10)
        deadline = time.monotonic() + 15
        alive = workers
        while alive and time.monotonic() < deadline:
            time.sleep(0.2)
            alive = [pid for pid in workers if _running(pid)]
        assert not alive, f"workers {alive} outlived their driver"
    finally:
        driver.kill()


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False
