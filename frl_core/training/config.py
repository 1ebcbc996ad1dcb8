"""Run configuration: a TOML file (read with tomllib) whose values command-line flags can override.

The resolved configuration (file + defaults + overrides) is written next to the results so a run can
always be repeated and a resumed run can check it continues the same experiment.
"""

from __future__ import annotations

import copy
import hashlib
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from frl_core.faces.action_units import MOVEMENT_SETS

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


@dataclass(frozen=True)
class Field:
    """What one config key may hold: its type(s) and, for numbers, a range; for lists, the items' type."""

    types: tuple[type, ...]
    low: float | None = None
    high: float | None = None
    item: type | tuple[type, ...] | None = None
    choices: tuple[str, ...] = ()

    def check(self, where: str, value: Any) -> None:
        if isinstance(value, bool) and bool not in self.types:
            raise ConfigError(f"{where} must be {self._kind()}, got {value!r}")
        if not isinstance(value, self.types):
            raise ConfigError(f"{where} must be {self._kind()}, got {value!r}")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
                raise ConfigError(f"{where} must be within {self.low:g}..{self.high:g}, got {value!r}")
        if isinstance(value, list) and self.item is not None:
            for v in value:
                if not isinstance(v, self.item) or isinstance(v, bool):
                    kind = "numbers" if isinstance(self.item, tuple) else self.item.__name__
                    raise ConfigError(f"{where} must be a list of {kind}, got {value!r}")
        if self.choices and value not in self.choices:
            raise ConfigError(f"{where} must be one of {', '.join(self.choices)}, got {value!r}")

    def _kind(self) -> str:
        if set(self.types) == {int, float}:
            return "a number"
        names = {int: "an integer", float: "a number", bool: "true or false", str: "a string", list: "a list"}
        return " or ".join(dict.fromkeys(names.get(t, t.__name__) for t in self.types))


_INT, _NUM, _BOOL, _STR = (int,), (int, float), (bool,), (str,)
SCHEMA: dict[str, dict[str, Field]] = {
    "protocol": {
        "name": Field(_STR, choices=("megc2019-loso", "casme2-5class-loso", "samm-5class-loso")),
        "data_root": Field(_STR), "frames_root": Field(_STR), "subjects": Field((list,), item=str),
        "hold_out": Field(_STR, choices=("subject", "dataset")),
    },
    "train": {
        "epochs": Field(_INT, 1, 10_000), "batch_size": Field(_INT, 1, 4096), "lr": Field(_NUM, 1e-8, 10.0),
        "weight_decay": Field(_NUM, 0.0, 10.0), "seeds": Field((list,), item=int), "balanced_sampling": Field(_BOOL),
        "hflip": Field(_BOOL), "threads": Field(_INT, 0, 1024), "eval_batch_size": Field(_INT, 1, 65_536),
        "tta_hflip": Field(_BOOL), "calibration_folds": Field(_INT, 0, 20),
        "uncertain_max_accuracy": Field(_NUM, 0.0, 1.0), "ensemble": Field(_INT, 1, 20),
        "extra_members": Field((list,), item=str), "au_augment": Field(_NUM, 0.0, 10.0),
        "au_augment_per_face": Field(_INT, 1, 100), "au_augment_dgm": Field(_STR),
        "au_augment_dgm_size": Field(_INT, 0, 1024),
        "au_augment_clips": Field(_BOOL), "au_augment_movements": Field(_STR, choices=MOVEMENT_SETS),
        "au_augment_parted_lips": Field(_NUM, 0.0, 1.0), "au_augment_emphasis": Field((list,), item=str),
        "au_augment_video_coded": Field(_NUM, 0.0, 1.0), "live_consistency": Field(_NUM, 0.0, 100.0),
        "dgm_pretrain_steps": Field(_INT, 0, 1_000_000), "dgm_pretrain_lr": Field(_NUM, 1e-8, 10.0),
        "dgm_pretrain_peak_px": Field((list,), item=(int, float)),
    },
    "output": {"dir": Field(_STR), "save_checkpoints": Field(_BOOL)},
}
"""Every key of the protocol, train and output sections; the model section is checked against the model's
own config fields (:func:`validate`)."""


def validate(config: dict[str, Any]) -> dict[str, Any]:
    """Check every section and key before any work starts: unknown keys (a typo such as ``epocs``), wrong
    types and values out of range are a ConfigError naming the key. Returns ``config``."""
    for section, table in config.items():
        if section not in DEFAULTS:
            raise ConfigError(f"unknown section {section!r} (known: {', '.join(DEFAULTS)})")
        if not isinstance(table, dict):
            raise ConfigError(f"[{section}] must be a table of keys")
        if section == "model":
            _validate_model(table)
            continue
        for key, value in table.items():
            field_ = SCHEMA[section].get(key)
            if field_ is None:
                raise ConfigError(f"unknown key {section}.{key} (known: {', '.join(sorted(SCHEMA[section]))})")
            field_.check(f"{section}.{key}", value)
    if not config["train"]["seeds"]:
        raise ConfigError("train.seeds must name at least one seed")
    return config


def _validate_model(table: dict[str, Any]) -> None:
    from dataclasses import fields

    from frl_core.models import list_models, variant_config
    from frl_core.models.frl_dgt import FRLDGTConfig, ModelConfigError

    name = table.get("name", "frl_dgt_small")
    known = [*list_models(), "ststnet"]
    if name not in known:
        raise ConfigError(f"model.name must be one of {', '.join(known)}, got {name!r}")
    if name == "ststnet":
        extra = set(table) - {"name", "input_mode"}
        if extra:
            raise ConfigError(f"unknown key(s) for ststnet: {', '.join(sorted('model.' + k for k in extra))}")
        return
    allowed = {f.name for f in fields(FRLDGTConfig)}
    if table.get("ensemble_size", 1) != 1:
        raise ConfigError("model.ensemble_size is how many trained trunks an assembled live file carries "
                          "(`main.py assemble-live --trunk A B`); to train several models per fold use "
                          "train.ensemble")
    for key in table:
        if key != "name" and key not in allowed:
            raise ConfigError(f"unknown key model.{key} (not a field of the FRL-DGT config)")
    try:
        variant_config(name, **{k: (tuple(v) if isinstance(v, list) else v) for k, v in table.items() if k != "name"})
    except (ModelConfigError, TypeError, ValueError) as err:
        raise ConfigError(f"[model]: {err}") from err


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
