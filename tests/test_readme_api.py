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


def test_the_nested_loso_figures_recompute_and_each_fold_predicts_with_the_recipe_its_inner_folds_chose(tmp_path):
    """results/nested_cv_loso: the README's script gives each seed's nested UF1 from the CSVs (several seeds at
    once, although they carry no probabilities), every fold chose the best inner UF1, and a fold that chose
    the headline recipe shows the headline LOSO run's own label."""
    import json
    import subprocess
    import sys

    pd = pytest.importorskip("pandas")
    script = tmp_path / "recompute.py"
    script.write_text(_recompute_script())
    folder = ROOT / "results" / "nested_cv_loso"
    seeds = sorted(int(p.stem.removeprefix("nested_seed")) for p in folder.glob("nested_seed*.json"))
    assert seeds
    files = [str(folder / f"predictions_seed{s}.csv") for s in seeds]
    out = subprocess.run([sys.executable, str(script), *files], capture_output=True, text=True, check=True).stdout
    for seed in seeds:
        record = json.loads((folder / f"nested_seed{seed}.json").read_text())
        assert f"seed {seed}: pooled UF1 {record['nested']['uf1']:.4f} UAR {record['nested']['uar']:.4f}" in out
        assert len(record["folds"]) == 68
        table = pd.read_csv(folder / f"predictions_seed{seed}.csv", dtype={"subject": str})
        own = pd.read_csv(ROOT / "results" / "megc2019_flow_loso" / f"predictions_seed{seed}.csv")
        own_label = dict(zip(own["clip"], own["pred"].map({n: i for i, n in enumerate(record["class_names"])})))
        for fold in record["folds"]:
            assert fold["chosen"] == max(fold["inner_uf1"], key=fold["inner_uf1"].get)
            rows = table[table["subject"] == fold["subject"]]
            assert len(rows) and set(rows["chosen"]) == {fold["chosen"]}
            if fold["outer"] == "reused":
                assert fold["chosen"] == "headline"
                assert (rows["pred"] == rows["clip"].map(own_label)).all()
