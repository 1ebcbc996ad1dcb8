"""Where the project finds its bundled assets and, for tests and benchmarks, the shared research data."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
INSTALLED_ASSETS_DIR = Path(sys.prefix) / "share" / "frl-dgt-studio" / "assets"
"""Where ``pip install .`` puts the assets (pyproject.toml's data-files)."""
ASSETS_DIR = REPO_ROOT / "assets" if (REPO_ROOT / "assets").is_dir() else INSTALLED_ASSETS_DIR
"""The shipped weights, demo clip and face photo: the checkout's, else the installed copy."""


def default_data_root() -> Path:
    """The research data folder: ``$FRL_DATA_ROOT`` if set, else ``../shared/data`` beside the checkout."""
    env = os.environ.get("FRL_DATA_ROOT")
    if env:
        return Path(env)
    return REPO_ROOT.parent / "shared" / "data"


def default_peers_root() -> Path:
    """The peers' published weights: ``$FRL_PEERS_ROOT`` if set, else ``../shared/peers``."""
    env = os.environ.get("FRL_PEERS_ROOT")
    if env:
        return Path(env)
    return REPO_ROOT.parent / "shared" / "peers"


class MissingModelFileError(RuntimeError):
    """A model file the project depends on is not installed."""


def landmark_model_path() -> Path:
    """dlib's 68-point shape predictor, shipped by the ``face-recognition-models`` package.

    Found through the package's location rather than by importing it: its ``__init__`` needs
    ``pkg_resources``, which current setuptools no longer ships.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is not None and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            path = Path(loc) / "models" / "shape_predictor_68_face_landmarks.dat"
            if path.is_file():
                return path
    raise MissingModelFileError(
        "dlib's 68-point landmark model was not found. Install it with: "
        "pip install face-recognition-models==0.3.0"
    )
