"""``python main.py bench model`` prints parameters, FLOPs and latencies (a tiny run, not a timing test)."""

import re

import pytest
import torch

from main import parse_args
from frl_core.models import create_model
from frl_core.benchmarks.model import count_flops, run


def test_bench_model_prints_figures_for_each_fusion(capsys):
    args = parse_args(["bench", "model", "--variants", "frl_dgt_small", "--modes", "flow",
                                      "--repeats", "2", "--batch", "2", "--device", "cpu", "--threads", "1"])
    assert run(args) == 0
    out = capsys.readouterr().out
    assert "1 CPU thread(s)" in out
    rows = [line for line in out.splitlines() if line.startswith("frl_dgt_small  flow")]
    assert len(rows) == 2 and "fu_b_attn" in rows[0] and "concat_after_attn" in rows[1]
    for row in rows:
        assert re.search(r"\d+\.\d+ M +\d+\.\d+ GFLOPs +CPU b1 +\d+\.\d+ ms +b2 +\d+\.\d+ ms", row), row
    assert "Fu-B-Attn vs concat-after-attention" in out


def test_flops_grow_with_the_face_size():
    small = count_flops(create_model("frl_dgt_small", img_size=64))
    large = count_flops(create_model("frl_dgt_small", img_size=128))
    assert 2.5 * small < large < 5 * small


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_bench_model_on_cuda_without_a_gpu_is_a_one_line_error(capsys):
    args = parse_args(["bench", "model", "--device", "cuda"])
    assert run(args) == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "no CUDA GPU" in err
