"""``analyze DATASET_ROOT --coding-table TABLE``: clip mode over every listed clip of a (tiny, rendered)
CASME II-layout dataset, one predictions table, UF1/UAR, resumable; bad tables and roots are one line."""

import csv
import json

import cv2
import pytest

from frl_core import synth
from frl_core.engine import cli as analyze_cli
from tests.cli_helpers import run_command  # noqa: E402

HEADER = ("Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units", "Estimated Emotion")


def _analyze(argv, capsys):
    return run_command(analyze_cli, argv, capsys)


def _table(path, rows):
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.append(HEADER)
    for row in rows:
        wb.active.append(row)
    wb.save(path)
    return path


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Two rendered clips in the CASME II layout (sub01/EP01_01/img101.jpg ...), a table coding them and a
    third clip whose frames are not there."""
    root = tmp_path_factory.mktemp("casme2")
    for subject, clip, expression, seed in (("sub01", "EP01_01", "smile", 1), ("sub02", "EP02_02", "brow_raise", 2)):
        seq = synth.render_sequence(None, fps=30, events=[synth.SyntheticEvent(0, 7, 16, expression, 3.0)],
                                    n_frames=17, seed=seed, size=(320, 240))
        folder = root / subject / clip
        folder.mkdir(parents=True)
        for i, frame in enumerate(seq.frames):
            cv2.imwrite(str(folder / f"img{101 + i}.jpg"), frame)
    table = _table(root / "casme2_coding_test.xlsx", [
        (1, "EP01_01", 101, 108, 117, "12", "happiness"),
        (2, "EP02_02", 101, 108, 117, "1+2", "surprise"),
        (3, "EP09_09", 5, 9, 20, "4", "disgust"),
    ])
    return root, table


def test_a_batch_predicts_every_clip_found_and_scores_them(dataset, tmp_path, capsys):
    root, table = dataset
    out = tmp_path / "batch"
    code, stdout, err = _analyze([root, "--coding-table", table, "--out", out, "--no-progress"], capsys)
    assert code == 0, err
    assert "1 clips of casme2_coding_test.xlsx have no frame folder" in err  # the unknown clip, said once
    assert "[2/2] sub02/EP02_02" in err  # progress, one line a clip
    rows = list(csv.DictReader(open(out / "predictions.csv")))
    assert [(r["subject"], r["clip"], r["true_label"]) for r in rows] == [("sub01", "EP01_01", "positive"),
                                                                          ("sub02", "EP02_02", "surprise")]
    for r in rows:
        assert r["apex"] == "108" and r["apex_source"] == "table" and r["predicted"] and r["top_class"]
        probs = [float(r[f"prob_{c}"]) for c in ("negative", "positive", "surprise")]
        assert abs(sum(probs) - 1) < 1e-3 and r["uncertain"] in ("0", "1")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n"] == 2 and 0 <= summary["uf1"] <= 1 and summary["analysed_now"] == 2
    assert f"UF1 {summary['uf1']:.4f}, UAR {summary['uar']:.4f}" in stdout

    # a second run resumes: nothing is analysed again, the table keeps one row per clip
    code, stdout, _ = _analyze([root, "--coding-table", table, "--out", out, "--no-progress"], capsys)
    assert code == 0 and "0 analysed now, 2 already in the table" in stdout
    assert len(list(csv.DictReader(open(out / "predictions.csv")))) == 2


def test_a_batch_can_find_each_apex_itself(dataset, tmp_path, capsys):
    root, table = dataset
    out = tmp_path / "found"
    code, _, err = _analyze([root, "--coding-table", table, "--out", out, "--no-progress", "--find-apex",
                             "--no-recognition"], capsys)
    assert code == 0, err
    rows = list(csv.DictReader(open(out / "predictions.csv")))
    assert all(r["apex_source"] == "found" and abs(int(r["apex"]) - 108) <= 1 for r in rows)
    assert all(r["predicted"] == "" for r in rows)


def test_a_clip_that_fails_is_a_row_with_a_note(dataset, tmp_path, capsys):
    root, _ = dataset
    broken = tmp_path / "root" / "sub05" / "EP05_05"
    broken.mkdir(parents=True)
    for i in range(1, 5):
        (broken / f"img{i}.jpg").write_bytes((root / "sub01" / "EP01_01" / f"img{100 + i}.jpg").read_bytes())
    (broken / "img3.jpg").write_bytes(b"not a jpeg")
    table = _table(tmp_path / "casme2_one.xlsx", [(5, "EP05_05", 1, 2, 4, "", "others")])
    code, stdout, _ = _analyze([tmp_path / "root", "--coding-table", table, "--out", tmp_path / "o", "--no-progress",
                                "--no-recognition"], capsys)
    assert code == 0 and "1 failed" in stdout
    (row,) = list(csv.DictReader(open(tmp_path / "o" / "predictions.csv")))
    assert row["predicted"] == "" and "cannot read image img3.jpg" in row["note"]

    # once the frame is repaired, a rerun tries the failed clip again and replaces its row
    (broken / "img3.jpg").write_bytes((root / "sub01" / "EP01_01" / "img103.jpg").read_bytes())
    code, stdout, _ = _analyze([tmp_path / "root", "--coding-table", table, "--out", tmp_path / "o", "--no-progress",
                                "--no-recognition"], capsys)
    assert code == 0 and "1 analysed now, 0 already in the table, 0 failed" in stdout
    (row,) = list(csv.DictReader(open(tmp_path / "o" / "predictions.csv")))
    assert row["apex_source"] == "table" and row["note"] == ""


def test_clip_mode_with_the_coding_table_as_truth(dataset, tmp_path, capsys):
    """A coding table's frame numbers name files (img101.jpg is 101): they are matched to the folder's frames."""
    root, table = dataset
    out = tmp_path / "o"
    code, stdout, err = _analyze([root / "sub01" / "EP01_01", "--clip", "--fps", "200", "--truth", table,
                                  "--truth-clip", "sub01/EP01_01", "--out", out, "--no-png"], capsys)
    assert code == 0, err
    assert "interval F1 1.000 (hit 1 of 1 coded, 1 found); label accuracy" in stdout
    truth = json.loads((out / "events.json").read_text())["metadata"]["truth"]
    assert truth["labelled_matches"] == 1 and truth["top_class_accuracy"] in (0.0, 1.0)


@pytest.mark.parametrize("case, words", [
    ("missing table", "coding table not found"),
    ("root is a file", "is not a folder"),
    ("no clip there", "none of the clips"),
    ("unknown dataset", "give --dataset"),
    ("frames given", "is for one input"),
])
def test_bad_batches_are_one_line(dataset, tmp_path, capsys, case, words):
    root, table = dataset
    if case == "missing table":
        argv = [root, "--coding-table", tmp_path / "casme2_none.xlsx"]
    elif case == "root is a file":
        argv = [table, "--coding-table", table]
    elif case == "no clip there":
        argv = [tmp_path, "--coding-table", table]
    elif case == "frames given":
        argv = [root, "--coding-table", table, "--apex", "3"]
    else:
        argv = [root, "--coding-table", _table(tmp_path / "codes.xlsx", [(1, "EP01_01", 101, 108, 117, "", "x")])]
    code, _, err = _analyze([*argv, "--out", tmp_path / "o", "--no-progress", "--no-recognition"], capsys)
    assert code == analyze_cli.EXIT_BAD_INPUT
    lines = [ln for ln in err.strip().splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and words in lines[0] and "Traceback" not in err


def test_resuming_into_a_table_of_other_columns_is_refused(dataset, tmp_path, capsys):
    root, table = dataset
    out = tmp_path / "o"
    out.mkdir()
    (out / "predictions.csv").write_text("subject,clip,something\n")
    code, _, err = _analyze([root, "--coding-table", table, "--out", out, "--no-progress", "--no-recognition"],
                            capsys)
    assert code == analyze_cli.EXIT_BAD_INPUT and "other columns" in err
