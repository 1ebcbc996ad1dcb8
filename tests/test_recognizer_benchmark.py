"""``python main.py bench recognizer``: the shipped live file per event, and whether another device shows the
CPU's labels (a tiny CPU run here; the GPU rows were measured on a lent H200, results/gpu_h200/)."""

import json

import numpy as np
import pytest
import torch

from main import parse_args
from frl_core.benchmarks.recognizer import compare, run


def test_compare_counts_changed_labels_and_probability_drift():
    p = np.array([[0.6, 0.3, 0.1], [0.2, 0.7, 0.1]])
    q = np.array([[0.4, 0.5, 0.1], [0.2, 0.7, 0.1]])
    same = compare((p, ["negative", "positive"]), (p.copy(), ["negative", "positive"]))
    assert same == {"shown_same": 1.0, "top_same": 1.0, "max_abs_dp": 0.0, "mean_abs_dp": 0.0}
    moved = compare((p, ["negative", "positive"]), (q, ["uncertain", "positive"]))
    assert moved["shown_same"] == 0.5 and moved["top_same"] == 0.5
    assert moved["max_abs_dp"] == pytest.approx(0.2)


def test_bench_recognizer_times_the_shipped_file_on_real_pairs(data_root, tmp_path, capsys):
    out = tmp_path / "figures.json"
    args = parse_args(["bench", "recognizer", "--device", "cpu", "--pairs", "6", "--repeats", "3", "--batch", "4",
                       "--threads", "1", "--data-root", str(data_root), "--json", str(out)])
    assert run(args) == 0
    text = capsys.readouterr().out
    assert "6 semi-synthetic 224 px pairs" in text and "CPU fp32: per event" in text
    figures = json.loads(out.read_text())
    assert figures["pairs"] == 6 and figures["trunks"] >= 1
    assert figures["cpu"]["per_event_ms"] > 0 and figures["cpu"]["events_per_s"] > 0


def test_bench_recognizer_without_the_composite_says_where_it_looked(tmp_path, capsys):
    args = parse_args(["bench", "recognizer", "--device", "cpu", "--data-root", str(tmp_path)])
    assert run(args) == 2
    assert f"not found under {tmp_path}" in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_bench_recognizer_on_cuda_without_a_gpu_is_a_one_line_error(capsys):
    assert run(parse_args(["bench", "recognizer", "--device", "cuda"])) == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "no CUDA GPU" in err
