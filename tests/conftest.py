"""Shared fixtures. Qt runs offscreen unless a display is given, so pytest-qt never aborts the run."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from frl_core.paths import default_data_root, default_peers_root  # noqa: E402


@pytest.fixture(scope="session")
def data_root() -> Path:
    root = default_data_root()
    if not (root / "megc2019" / "labels.csv").is_file():
        pytest.skip(f"shared research data not found at {root} (set FRL_DATA_ROOT)")
    return root


@pytest.fixture(scope="session")
def peers_root() -> Path:
    root = default_peers_root()
    if not (root / "ststnet_weights").is_dir():
        pytest.skip(f"peer weights not found at {root} (set FRL_PEERS_ROOT)")
    return root
