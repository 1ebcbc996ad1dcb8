"""Ground truth in, comparison out: every layout a researcher has reads to the same intervals, a bad file is
one line, and ``analyze --truth`` prints and stores interval F1 and label accuracy."""

import json
from pathlib import Path

import pytest

from frl_core.engine import cli as analyze_cli
from frl_core.engine.truth import coding_table_truth, guess_dataset, load_truth, rate_note
from frl_core.io.ground_truth import (GroundTruthError, TruthInterval, compare_to_truth, load_ground_truth,
                                      to_source_indices)
from frl_core.types import Event
from tests.cli_helpers import run_command  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DEMO_TRUTH = REPO / "assets" / "demo" / "demo_ground_truth.json"


def _event(onset, offset, label=None, probabilities=None):
    return Event(event_id=1, onset_index=onset, apex_index=onset + 1, offset_index=offset, onset_time=0.0,
                 apex_time=0.0, offset_time=0.0, kind="micro", score=1.0, label=label,
                 probabilities=probabilities or {})


def test_the_demo_truth_reads_with_labels_and_kinds():
    truth = load_ground_truth(DEMO_TRUTH)
    assert len(truth) == 5
    assert truth[0] == TruthInterval(75, 87, 80, "micro", "positive", None)
    assert {t.kind for t in truth} == {"micro", "macro"}


def test_truth_counted_at_another_rate_is_mapped_by_time():
    at_24 = load_truth(DEMO_TRUTH, fps=24.0)  # the demo re-encoded at 24 fps: same moments, other frame numbers
    assert at_24[0] == TruthInterval(60, 70, 64, "micro", "positive", None)
    assert "30 fps" in rate_note(DEMO_TRUTH, 24.0) and "24 fps" in rate_note(DEMO_TRUTH, 24.0)
    assert load_truth(DEMO_TRUTH, fps=30.0) == load_truth(DEMO_TRUTH) == load_ground_truth(DEMO_TRUTH)
    assert rate_note(DEMO_TRUTH, 30.0) is None and rate_note(DEMO_TRUTH, None) is None


def test_an_events_json_states_its_rate_in_its_metadata(tmp_path):
    path = tmp_path / "events.json"
    path.write_text(json.dumps({"metadata": {"fps": 200.0}, "events": [
        {"onset_index": 100, "apex_index": 140, "offset_index": 200, "label": "positive"}]}))
    assert load_truth(path, fps=100.0) == [TruthInterval(50, 100, 70, None, "positive")]
    csv_truth = tmp_path / "truth.csv"  # a CSV states no rate: its frame numbers are the input's
    csv_truth.write_text("onset,apex,offset\n100,140,200\n")
    assert load_truth(csv_truth, fps=100.0) == [TruthInterval(100, 200, 140)]


def test_an_events_json_serves_as_truth(tmp_path):
    path = tmp_path / "events.json"
    path.write_text(json.dumps({"metadata": {}, "events": [
        {"onset_index": 0, "apex_index": 4, "offset_index": 9, "label": "Surprise", "kind": "micro"}]}))
    assert load_ground_truth(path) == [TruthInterval(0, 9, 4, "micro", "surprise")]


def test_a_csv_with_a_header_and_emotion_words(tmp_path):
    path = tmp_path / "truth.csv"
    path.write_text("OnsetFrame,ApexFrame,OffsetFrame,Estimated Emotion\n3,8,15,happiness\n20,,30,others\n")
    truth = load_truth(path)  # emotion words become the MEGC classes the model names
    assert truth == [TruthInterval(3, 15, 8, None, "positive"), TruthInterval(20, 30, None, None, "others")]


def test_megc_lists_without_a_header(tmp_path):
    info = tmp_path / "all_Info.txt"
    info.write_text("s15 0401 macro-expression 557.0 572.0 608.0\ns15 0402 micro-expression 2155 2163 0\n")
    assert load_ground_truth(info, "s15_0401") == [TruthInterval(557, 608, 572, "macro", None, "s15_0401")]
    # an offset of 0 is "not coded" in these files: the apex stands in for it
    (row,) = load_ground_truth(info, "0402")
    assert (row.onset, row.apex, row.offset) == (2155, 2163, 2163)
    sheet = tmp_path / "cas.csv"
    sheet.write_text("1,anger1_1,557,572,608,4+10+14,negative,macro-expression,anger\n")
    assert load_ground_truth(sheet) == [TruthInterval(557, 608, 572, "macro", "negative", "1_anger1_1")]


@pytest.mark.parametrize("name, text, words", [
    ("missing.json", None, "not found"),
    ("bad.json", "{not json", "is not JSON"),
    ("list.json", '{"events": 3}', "list of events"),
    ("noframes.json", '[{"label": "x"}]', "no onset/offset"),
    ("order.csv", "onset,offset\n9,3\n", "comes before onset"),
    ("header.csv", "start_time,stop_time\n1,2\n", "no onset and offset columns"),
    ("words.txt", "hello world\n", "no onset and offset columns"),
    ("one.txt", "s1 7 micro\n", "no onset/offset frame numbers"),
    ("neg.csv", "onset,offset\n-4,3\n", "is not a frame"),
])
def test_bad_truth_files_are_one_line(tmp_path, name, text, words):
    path = tmp_path / name
    if text is not None:
        path.write_text(text)
    with pytest.raises(GroundTruthError, match=words):
        load_ground_truth(path)


def test_a_file_of_many_videos_needs_the_one_analysed(tmp_path):
    path = tmp_path / "all.txt"
    path.write_text("s1 v1 micro 1 2 3\ns1 v2 micro 4 5 6\n")
    with pytest.raises(GroundTruthError, match="name the one analysed"):
        load_ground_truth(path)
    with pytest.raises(GroundTruthError, match="no interval of 'v9'"):
        load_ground_truth(path, "v9")


def test_comparison_counts_hits_by_iou_and_labels_of_matched_pairs():
    truth = [TruthInterval(10, 20, label="positive"), TruthInterval(50, 60, label="negative"),
             TruthInterval(90, 95)]
    probs = {"negative": 0.3, "positive": 0.6, "surprise": 0.1}
    events = [_event(11, 21, "uncertain", probs), _event(50, 59, "negative", {"negative": 0.9}), _event(200, 210)]
    c = compare_to_truth(truth, events)
    assert (c.counts.true_positives, c.counts.predicted, c.counts.ground_truth) == (2, 3, 3)
    assert c.f1 == pytest.approx(2 / 3)
    assert c.labelled_matches == 2 and c.label_accuracy == 0.5 and c.top_class_accuracy == 1.0
    assert compare_to_truth(truth, [_event(0, 3)]).label_accuracy is None


def test_coding_table_frame_numbers_become_indices():
    truth = [TruthInterval(46, 86, 59, label="positive")]
    numbers = list(range(40, 90))
    (row,) = to_source_indices(truth, numbers)
    assert (row.onset, row.apex, row.offset, row.label) == (6, 19, 46, "positive")
    with pytest.raises(GroundTruthError, match="not among the input's frame numbers 1-10"):
        to_source_indices(truth, range(1, 11))


def test_the_casme2_coding_table_row(data_root):
    table = data_root / "annotations" / "casme2_coding_20140508.xlsx"
    assert guess_dataset(table) == "casme2"
    (row,) = coding_table_truth(table, "sub01/EP02_01f")
    assert (row.onset, row.apex, row.offset, row.label) == (46, 59, 86, "positive")
    with pytest.raises(GroundTruthError, match="codes no clip"):
        coding_table_truth(table, "sub99/EP00")
    with pytest.raises(GroundTruthError, match="--truth-clip"):
        load_truth(table)


def _analyze(argv, capsys):
    return run_command(analyze_cli, argv, capsys)


def test_analyze_with_the_demo_truth_prints_and_stores_the_comparison(tmp_path, capsys):
    out = tmp_path / "o"
    code, stdout, err = _analyze([REPO / "assets" / "demo" / "demo.mp4", "--truth", DEMO_TRUTH, "--out", out,
                                  "--no-progress", "--no-png", "--no-recognition"], capsys)
    assert code == 0, err
    assert "interval F1 1.000 (hit 5 of 5 coded, 5 found)" in stdout
    truth = json.loads((out / "events.json").read_text())["metadata"]["truth"]
    assert truth["interval_f1"] == 1.0 and truth["file"] == str(DEMO_TRUTH)
    assert truth["label_accuracy"] is None  # nothing was recognised, so no label was compared


def test_analyze_of_the_demo_re_encoded_at_24_fps_keeps_its_truth(tmp_path, capsys):
    cv2 = pytest.importorskip("cv2")
    reader = cv2.VideoCapture(str(REPO / "assets" / "demo" / "demo.mp4"))
    video = tmp_path / "demo_24fps.mp4"
    writer = None
    n = 0
    while True:
        ok, frame = reader.read()
        if not ok:
            break
        if writer is None:
            writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 24.0, frame.shape[1::-1])
        if n % 5 != 4:  # 30 -> 24 fps, as a converter drops frames
            writer.write(frame)
        n += 1
    writer.release()
    code, stdout, err = _analyze([video, "--truth", DEMO_TRUTH, "--out", tmp_path / "o", "--no-progress", "--no-png",
                                  "--no-recognition"], capsys)
    assert code == 0, err
    assert "counts frames at 30 fps, the input runs at 24 fps" in stdout
    assert "(hit 5 of 5 coded," in stdout


def test_analyze_with_a_bad_truth_file_stops_before_any_work(tmp_path, capsys):
    out = tmp_path / "o"
    code, _, err = _analyze([REPO / "assets" / "demo" / "demo.mp4", "--truth", tmp_path / "none.json", "--out", out],
                            capsys)
    assert code == analyze_cli.EXIT_BAD_INPUT and "ground truth file not found" in err
    assert not out.exists()
