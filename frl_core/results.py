"""Reading an ``analyze`` output folder back for analysis: tables, metadata, displacement fields, plots.

``load(out_dir)`` returns the per-frame and per-event tables as pandas DataFrames with the run's metadata
(schema and tool version, source, fps, weights digest, settings), and refuses a folder written by a newer
schema than this code knows rather than misread it. The plots are drawn with OpenCV into BGR images
(``cv2.imwrite`` saves them), so they work on a server with no display and no plotting library.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from frl_core.faces.au_regions import REGION_NAMES
from frl_core.io.exports import HEAD_MOTION_KEYS, SCHEMA_VERSION, event_png_name, sidecar_path
from frl_core.types import Event

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Results", "ResultsError", "load", "plot_region_motion", "plot_score_timeline"]

_FONT = cv2.FONT_HERSHEY_SIMPLEX
REGION_COLOURS = ((180, 119, 31), (14, 127, 255), (44, 160, 44), (40, 39, 214), (189, 103, 148), (75, 86, 140))
"""BGR colour of each AU region in the plots, in ``REGION_NAMES`` order."""


class ResultsError(Exception):
    """A results folder that cannot be read; ``str(err)`` is a one-line message for the user."""


@dataclass
class Results:
    """One analysis read back: ``frames`` (a row per frame), ``events`` (a row per event), ``metadata``, and
    ``frame_probabilities`` when the run wrote that stream."""

    frames: pd.DataFrame
    events: pd.DataFrame
    metadata: dict
    out_dir: Path
    frame_probabilities: pd.DataFrame | None = None
    """Per-frame class probabilities when the run asked for them (``analyze --frame-probabilities``)."""

    @property
    def left_out_as_speech(self) -> pd.DataFrame:
        """The spotted intervals left out as talking (trains of mouth movements): frame indices and times."""
        pd = _pandas()
        times = dict(zip(self.frames["index"], self.frames["timestamp"])) if "index" in self.frames else {}
        fps = float(self.metadata.get("fps") or 0.0) or 30.0
        rows = [{"onset_index": int(a), "apex_index": int(b), "offset_index": int(c),
                 **{f"{name}_time": float(times.get(int(i), int(i) / fps))
                    for name, i in (("onset", a), ("apex", b), ("offset", c))}}
                for a, b, c in self.metadata.get("left_out_as_speech") or []]
        return pd.DataFrame(rows, columns=["onset_index", "apex_index", "offset_index", "onset_time", "apex_time",
                                           "offset_time"])

    @property
    def schema_version(self) -> int:
        return int(self.metadata.get("schema_version", 0))

    def displacement(self, event_id: int) -> np.ndarray | None:
        """The event's (2, H, W) displacement field in pixels of the aligned face, None if none was saved."""
        rows = self.events[self.events["event_id"] == event_id]
        if rows.empty or not isinstance(rows.iloc[0]["displacement_file"], str):
            return None
        return np.load(self.out_dir / rows.iloc[0]["displacement_file"], allow_pickle=False)


def _pandas():
    try:
        import pandas
    except ImportError as err:
        raise ResultsError("reading results needs pandas: python -m pip install -r requirements.txt") from err
    return pandas


def _read_json(path: Path) -> dict:
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError as err:
        raise ResultsError(f"{path.parent} has no {path.name}: is it an analyze output folder?") from err
    except (OSError, UnicodeDecodeError) as err:
        raise ResultsError(f"cannot read {path}: {getattr(err, 'strerror', None) or err}") from err
    except json.JSONDecodeError as err:
        raise ResultsError(f"{path} is damaged (not valid JSON: {err.msg} at line {err.lineno})") from err
    if not isinstance(doc, dict):
        raise ResultsError(f"{path} is damaged (expected a JSON object)")
    return doc


def _check_version(doc: dict, path: Path) -> int:
    """The file's schema version (0: written before versions were recorded); a newer one is refused."""
    version = doc.get("schema_version", 0)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise ResultsError(f"{path} is damaged (schema_version {version!r} is not a version number)")
    if version > SCHEMA_VERSION:
        raise ResultsError(f"{path} was written with results schema {version}, newer than this version reads "
                           f"({SCHEMA_VERSION}): update frl-dgt-studio to read it")
    return version


def _event_row(record: dict, out_dir: Path) -> dict:
    """A JSON event as one flat row, with the columns events.csv uses."""
    row = {k: v for k, v in record.items() if not isinstance(v, dict)}
    for name, value in (record.get("probabilities") or {}).items():
        row[f"prob_{name}"] = value
    for region in REGION_NAMES:
        row[f"motion_{region}"] = (record.get("region_magnitude") or {}).get(region)
    for key in HEAD_MOTION_KEYS:
        row[f"head_{key}"] = (record.get("head_motion") or {}).get(key)
    row["displacement_file"] = None
    try:
        png = event_png_name(Event(int(record["event_id"]), 0, 0, 0, 0.0, float(record["apex_time"]), 0.0, "",
                                   0.0, label=record.get("label")))
    except (KeyError, TypeError, ValueError):
        return row
    npy = Path("events") / Path(png).with_suffix(".npy")
    if (out_dir / npy).is_file():
        row["displacement_file"] = str(npy)
    return row


def load(out_dir: str | Path) -> Results:
    """Read an ``analyze`` output folder (``frames.csv``, ``events.json`` and their metadata)."""
    pd = _pandas()
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise ResultsError(f"no results folder at {out_dir}")
    events_path = out_dir / "events.json"
    doc = _read_json(events_path)
    version = _check_version(doc, events_path)
    if not isinstance(doc.get("events"), list) or not all(isinstance(e, dict) for e in doc["events"]):
        raise ResultsError(f"{events_path} is damaged (no list of events)")
    metadata = dict(doc.get("metadata") or {})
    metadata["schema_version"] = version
    sidecar = sidecar_path(out_dir / "frames.csv")
    if sidecar.exists():
        _check_version(_read_json(sidecar), sidecar)
    frames_path = out_dir / "frames.csv"
    try:
        frames = pd.read_csv(frames_path, keep_default_na=True)
    except FileNotFoundError as err:
        raise ResultsError(f"{out_dir} has no frames.csv: is it an analyze output folder?") from err
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ResultsError(f"{frames_path} is damaged ({first})") from err
    if "timestamp" not in frames.columns:
        raise ResultsError(f"{frames_path} is damaged (no timestamp column)")
    events = pd.DataFrame([_event_row(e, out_dir) for e in doc["events"]])
    if events.empty:
        events = pd.DataFrame(columns=["event_id", "kind", "onset_time", "apex_time", "offset_time", "label",
                                       "displacement_file"])
    stream = None
    stream_path = out_dir / "frame_probabilities.csv"
    if stream_path.exists():
        try:
            stream = pd.read_csv(stream_path)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ResultsError(f"{stream_path} is damaged ({first})") from err
    return Results(frames=frames, events=events, metadata=metadata, out_dir=out_dir, frame_probabilities=stream)


# -- plots -----------------------------------------------------------------------------------------

def _canvas(width: int, height: int) -> np.ndarray:
    return np.full((height, width, 3), 255, np.uint8)


def _text(img: np.ndarray, text: str, org: tuple[int, int], scale: float = 0.45,
          colour: tuple[int, int, int] = (40, 40, 40)) -> None:
    cv2.putText(img, text, org, _FONT, scale, colour, 1, cv2.LINE_AA)


def _finite(values: Any) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


def plot_score_timeline(results: Results, width: int = 1000, height: int = 320) -> np.ndarray:
    """The spotting score over time under its threshold, detected intervals shaded, apexes marked and
    labelled: a BGR image."""
    img = _canvas(width, height)
    left, right, top, bottom = 60, 20, 30, 40
    frames = results.frames
    t = _finite(frames["timestamp"])
    score = _finite(frames.get("spotting_score", np.full(len(t), np.nan)))
    threshold = _finite(frames.get("threshold", np.full(len(t), np.nan)))
    t0, t1 = (float(np.nanmin(t)), float(np.nanmax(t))) if len(t) else (0.0, 1.0)
    t1 = t1 if t1 > t0 else t0 + 1.0
    ymax = float(np.nanmax(np.concatenate([score, threshold, [1e-6]])))
    ymax = ymax * 1.1 if math.isfinite(ymax) and ymax > 0 else 1.0

    def xy(tt: float, yy: float) -> tuple[int, int]:
        x = left + (tt - t0) / (t1 - t0) * (width - left - right)
        y = height - bottom - yy / ymax * (height - top - bottom)
        return int(round(x)), int(round(y))

    for _, event in results.events.iterrows():
        (x0, _), (x1, _) = xy(float(event["onset_time"]), 0), xy(float(event["offset_time"]), 0)
        cv2.rectangle(img, (x0, top), (max(x1, x0 + 1), height - bottom), (200, 230, 255), -1)
    for _, speech in results.left_out_as_speech.iterrows():
        (x0, _), (x1, _) = xy(float(speech["onset_time"]), 0), xy(float(speech["offset_time"]), 0)
        cv2.rectangle(img, (x0, top), (max(x1, x0 + 1), height - bottom), (225, 225, 225), -1)
    cv2.rectangle(img, (left, top), (width - right, height - bottom), (120, 120, 120), 1)
    for series, colour in ((threshold, (150, 150, 150)), (score, (180, 90, 20))):
        ok = np.isfinite(series)
        pts = np.array([xy(a, b) for a, b in zip(t[ok], series[ok])], np.int32)
        if len(pts) > 1:
            cv2.polylines(img, [pts], False, colour, 1 if colour[0] == 150 else 2, cv2.LINE_AA)
    for _, event in results.events.iterrows():
        x, _ = xy(float(event["apex_time"]), 0)
        cv2.line(img, (x, top), (x, height - bottom), (30, 30, 200), 1)
        label = event.get("label")
        _text(img, str(label) if isinstance(label, str) else str(event["kind"]), (x + 3, top + 14), 0.4,
              (30, 30, 200))
    for k in range(6):
        tt = t0 + k * (t1 - t0) / 5
        x, _ = xy(tt, 0)
        _text(img, f"{tt:.1f}", (x - 12, height - bottom + 16), 0.4)
    _text(img, f"{ymax:.2g}", (6, top + 5), 0.4)
    _text(img, "0", (40, height - bottom), 0.4)
    _text(img, "time (s)", (width // 2 - 30, height - 6))
    _text(img, "spotting score (blue), threshold (grey), detected intervals (shaded), left out as speech (grey)",
          (left, 20))
    return img


def plot_region_motion(results: Results, width: int = 800, height: int = 360) -> np.ndarray:
    """Motion per AU region (px of the aligned face, head motion removed) for every event, as grouped bars:
    a BGR image."""
    img = _canvas(width, height)
    left, right, top, bottom = 60, 20, 30, 70
    events = results.events
    columns = [f"motion_{r}" for r in REGION_NAMES]
    values = (np.array([[_as_float(row.get(c)) for c in columns] for _, row in events.iterrows()])
              if len(events) else np.zeros((0, len(columns))))
    ymax = float(np.nanmax(values)) if values.size and np.isfinite(values).any() else 1.0
    ymax = ymax * 1.1 if ymax > 0 else 1.0
    cv2.rectangle(img, (left, top), (width - right, height - bottom), (120, 120, 120), 1)
    n = max(len(events), 1)
    group = (width - left - right) / n
    bar = group * 0.8 / len(columns)
    base = height - bottom
    for i, (_, row) in enumerate(events.iterrows()):
        for k, value in enumerate(values[i]):
            if not math.isfinite(value):
                continue
            x0 = int(left + i * group + group * 0.1 + k * bar)
            y = int(round(base - value / ymax * (height - top - bottom)))
            cv2.rectangle(img, (x0, y), (max(x0 + int(bar) - 1, x0 + 1), base), REGION_COLOURS[k], -1)
        _text(img, f"#{int(row['event_id'])} {row['apex_time']:.1f}s", (int(left + i * group + group * 0.1), base + 16),
              0.4)
    for k, name in enumerate(REGION_NAMES):
        x = left + (k % 3) * 230
        y = height - 30 + (k // 3) * 16
        cv2.rectangle(img, (x, y - 9), (x + 10, y + 1), REGION_COLOURS[k], -1)
        _text(img, name, (x + 14, y), 0.4)
    _text(img, f"{ymax:.2g} px", (4, top + 5), 0.4)
    _text(img, "0", (40, base), 0.4)
    _text(img, "motion per AU region per event (px of the 224-px aligned face)", (left, 20))
    return img


def _as_float(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out
