"""Run configuration: a TOML file (read with tomllib) whose values command-line flags can override.

The resolved configuration (file + defaults + overrides) is written next to the results so a run can
always be repeated and a resumed run can check it continues the same experiment.
"""

from __future__ import annotations

import copy
import hashlib
import json
import tomllib
from pathlib import Path
from typing import Any

DEFAULTS: dict[str, Any] = {
    "protocol": {
        "name": "megc2019-loso",
        "data_root": "",
        "frames_root": "",
        "subjects": [],
    },
    "model": {"name": "frl_dgt_small", "input_mode": "flow"},
    "train": {
        "epochs": 40,
        "batch_size": 32,
        "lr": 1e-3,
        "weight_decay": 1e-4,
        "seeds": [1],
        "balanced_sampling": True,
        "hflip": True,
        "threads": 0,
        "eval_batch_size": 64,
    },
    "output": {"dir": "runs/megc2019_flow", "save_checkpoints": False},
}

# Keys that change what a LOSO fold computes: a resumed run must match them exactly.
FINGERPRINT_SECTIONS: tuple[str, ...] = ("protocol", "model", "train")
_NOT_FINGERPRINTED = {("train", "threads"), ("train", "seeds"), ("protocol", "subjects"), ("train", "eval_batch_size")}


class ConfigError(ValueError):
    """The configuration file or an override cannot be used; the message says which key and why."""


def _merge(base: dict, extra: dict, where: str = "") -> dict:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value, f"{where}{key}.")
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_config(path: str | Path | None) -> dict[str, Any]:
    """Defaults overlaid with the TOML file (if any)."""
    if path is None:
        return copy.deepcopy(DEFAULTS)
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    unknown = [k for k in data if k not in DEFAULTS]
    if unknown:
        raise ConfigError(f"{path}: unknown section(s) {', '.join(unknown)} (known: {', '.join(DEFAULTS)})")
    return _merge(DEFAULTS, data)


def parse_override(text: str) -> tuple[list[str], Any]:
    """'train.epochs=5' -> (['train', 'epochs'], 5). Values are parsed as TOML, else kept as a string."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} must look like section.key=value")
    key, raw = text.split("=", 1)
    parts = [p.strip() for p in key.strip().split(".") if p.strip()]
    if len(parts) < 2:
        raise ConfigError(f"override {text!r}: the key must name a section and a key, e.g. train.epochs")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return parts, value


def apply_override(config: dict[str, Any], parts: list[str], value: Any) -> None:
    """Set a nested key; the section must exist, the key may be new (models take extra options)."""
    if parts[0] not in config:
        raise ConfigError(f"unknown config section {parts[0]!r} (known: {', '.join(config)})")
    node = config
    for p in parts[:-1]:
        node = node.setdefault(p, {})
        if not isinstance(node, dict):
            raise ConfigError(f"config key {'.'.join(parts)} goes through a value that is not a table")
    node[parts[-1]] = value


def fingerprint(config: dict[str, Any]) -> str:
    """A short hash of everything that changes a fold's result (not threads or which folds are run)."""
    relevant = {
        s: {k: v for k, v in config.get(s, {}).items() if (s, k) not in _NOT_FINGERPRINTED}
        for s in FINGERPRINT_SECTIONS
    }
    return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def to_toml(config: dict[str, Any]) -> str:
    """Write a two-level config (sections of scalars and lists) back as TOML."""
    lines = []
    for section, table in config.items():
        lines.append(f"[{section}]")
        for key, value in table.items():
            lines.append(f"{key} = {_toml_value(value)}")
        lines.append("")
    return "\n".join(lines)


def save_resolved(config: dict[str, Any], out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "config.resolved.toml"
    path.write_text(to_toml(config), encoding="utf-8")
    return path
