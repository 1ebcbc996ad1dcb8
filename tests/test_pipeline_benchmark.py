"""``python main.py bench pipeline`` on the bundled demo clip: figures a user reads, and memory accounting."""

import json
import math
import pytest

from main import parse_args
from frl_core.benchmarks.pipeline import run
from frl_core.synth import DEMO_DIR


@pytest.mark.slow
def test_bench_pipeline_reports_speed_stages_and_what_the_kept_events_hold(tmp_path, capsys):
    out_json = tmp_path / "pipeline.json"
    args = parse_args(["bench", "pipeline", "--video", str(DEMO_DIR / "demo.mp4"), "--no-serial",
                                      "--json", str(out_json)])
    assert run(args) == 0
    text = capsys.readouterr().out
    for label in ("bare decode", "full engine", "stages (ms/frame)", "memory (RSS MiB)", "results kept", "targets"):
        assert label in text
    figures = json.loads(out_json.read_text())
    assert figures["frames"] == 720 and figures["events"] == 5
    assert figures["decode_fps"] > 0 and 0 < figures["decode_ratio"] < 1
    # The ratio is against the median of the decode passes, and never above the one against the fastest.
    passes = sorted(figures["decode_passes_fps"])
    assert len(passes) == 3 and figures["decode_fps"] == passes[1]
    assert figures["decode_ratio_fastest"] <= figures["decode_ratio"]
    # Each event keeps a (2, 224, 224) float32 map at the aligned face's scale and two 224x224 faces:
    # about 490 KiB.
    per_event_kib = figures["events_payload_mb"] * 1024 / figures["events"]
    assert 400 < per_event_kib < 600
    assert math.isfinite(figures["rss_growth_beyond_results_mb"])
    assert {"face", "align", "spotting", "decode"} <= set(figures["stage_ms"])
