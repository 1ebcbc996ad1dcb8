"""The README's API example runs as printed (on the demo clip's first 300 frames)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _api_example() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Reusing the outputs (API)", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


def test_the_example_is_about_ten_lines():
    assert len(_api_example().strip().splitlines()) <= 12


@pytest.mark.slow
def test_readme_api_example_runs_and_draws_its_plots(tmp_path, monkeypatch, capsys):
    pytest.importorskip("pandas")
    out = tmp_path / "demo"
    code = _api_example().replace('"out/demo', f'"{out}')
    monkeypatch.chdir(ROOT)
    exec(compile(code, "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "300 frames" in printed and "pose_yaw_deg" in printed
    assert (out / "timeline.png").stat().st_size > 5000 and (out / "regions.png").stat().st_size > 5000
    assert list((out / "events").glob("*.npy"))


def _recompute_script() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("### Recomputing the recognition figures", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


def test_the_readme_recompute_script_gives_the_headline_and_its_seed_ensemble_from_results(tmp_path):
    import json
    import subprocess
    import sys

    pytest.importorskip("pandas")
    script = tmp_path / "recompute.py"
    script.write_text(_recompute_script())
    files = sorted((ROOT / "results" / "megc2019_flow_loso").glob("predictions_seed*.csv"))
    out = subprocess.run([sys.executable, str(script), *map(str, files)], capture_output=True, text=True,
                         check=True).stdout
    for seed in (1, 2, 3):
        report = json.loads((ROOT / "results" / "megc2019_flow_loso" / f"report_seed{seed}.json").read_text())
        assert f"seed {seed}: pooled UF1 {report['pooled']['uf1']:.4f}" in out
    assert "mean of 3 seeds' probabilities: pooled UF1 0.7259 UAR 0.7426" in out


def test_the_recompute_script_gives_the_seed_spread_of_three_seed_ensembles(tmp_path):
    """Seeds 4-9 in results/ make two more disjoint three-seed ensembles: the spread the README reports."""
    import subprocess
    import sys

    pytest.importorskip("pandas")
    script = tmp_path / "recompute.py"
    script.write_text(_recompute_script())
    folder = ROOT / "results" / "megc2019_flow_seeds4to9"
    expected = {(4, 5, 6): "pooled UF1 0.6981 UAR 0.7191", (7, 8, 9): "pooled UF1 0.7125 UAR 0.7262"}
    for seeds, figures in expected.items():
        files = [str(folder / f"predictions_seed{s}.csv") for s in seeds]
        out = subprocess.run([sys.executable, str(script), *files], capture_output=True, text=True, check=True).stdout
        assert f"mean of 3 seeds' probabilities: {figures}" in out
