"""``python main.py batch INPUTS... --out DIR``: analyse a corpus of recordings, each as ``analyze`` would.

INPUTS are videos, frame folders, glob patterns (quoted, e.g. ``'corpus/*.mp4'``) or manifest CSV files with
a ``path`` column (relative paths are read from the manifest's folder) and optional ``id``, ``subject``,
``session``, ``fps`` and any other columns (ground truth, notes), which are carried into the corpus table.

Each input's results go to ``DIR/<id>/`` (the files ``analyze`` writes, by the same code); ``DIR/corpus.csv``
has one row per input (frames, fps, events, micro, macro, a count per class, status ok/failed with the error,
seconds) and ``DIR/events.csv`` every event with its input's id. Both are rewritten as each input finishes.
Re-running the same command skips inputs whose ``events.json`` says complete; failed ones are tried again.
A failing input is recorded and the others go on.

Exit codes: 0 every input analysed; 2 bad arguments (no inputs, unreadable manifest, --ray without Ray);
4 the --weights file does not exist; 5 cannot write DIR; 6 one or more inputs failed (their rows in
corpus.csv say why); 130 interrupted.
"""

from __future__ import annotations

import argparse
import csv
import glob
import json
import os
import re
import socket
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from frl_core.engine.cli import EXIT_BAD_INPUT as EXIT_BAD_ARGUMENTS
from frl_core.engine.cli import EXIT_BAD_WEIGHTS as EXIT_NO_WEIGHTS
from frl_core.engine.cli import EXIT_CANNOT_WRITE, EXIT_INTERRUPTED, _fail, add_person_arguments
from frl_core.parallel import BackendError, add_backend_arguments, make_backend

EXIT_SOME_FAILED = 6
"""One or more inputs failed (the others were analysed); the other codes are analyze's own."""

CORPUS_COLUMNS = ["id", "path", "status", "error", "exit_code", "frames", "frames_with_face", "fps", "events",
                  "micro", "macro", "while_talking", "left_out_as_speech", "seconds", "resumed", "warning", "worker",
                  "worker_setup_s"]
"""The corpus table's fixed columns; manifest columns and a ``n_<label>`` count per class follow.
``worker_setup_s``: on the first input of each worker, the seconds it took to start (imports, the model
loaded once for all its inputs). ``while_talking``: events made while the person talked (``Event.while_talking``;
empty for an output written before it was recorded or with the speech filter off). ``left_out_as_speech``:
spotted intervals left out as talking (empty for an output written before the speech filter)."""

MANIFEST_KEYS = ("path", "id", "fps")
"""Manifest columns the batch reads itself; any other column is carried into the corpus table."""


class BatchError(Exception):
    """The batch cannot start (a manifest without a path column, no inputs); one line for the user."""


@dataclass
class BatchInput:
    """One input of the corpus: where it is, its id (its results folder's name) and its manifest columns."""

    id: str
    path: str
    fps: float | None = None
    extra: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    """Why the input cannot be analysed before trying (a bad manifest row, a pattern matching nothing)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = ("exit codes: 0 every input analysed, 2 bad arguments, 4 no --weights file, 5 cannot write DIR, "
                     "6 one or more inputs failed (see corpus.csv), 130 interrupted")
    parser.add_argument("inputs", nargs="+", metavar="INPUT",
                        help="video, frame folder, quoted glob pattern, or manifest .csv with a path column")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="corpus folder: DIR/<id>/ per input, DIR/corpus.csv, DIR/events.csv")
    add_backend_arguments(parser, "analyse inputs", "the number of cores")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="where the network runs in each worker (default: auto = GPU when present)")
    parser.add_argument("--fps", type=float, default=None,
                        help="frame rate to assume where the manifest gives none (frame folders default to 30)")
    parser.add_argument("--weights", type=Path, default=None, help="recogniser checkpoint (default: the shipped one)")
    parser.add_argument("--no-recognition", action="store_true", help="spot only (see analyze --help)")
    parser.add_argument("--whole-frame", action="store_true",
                        help="use the whole frame as the face when none is detected (face-cropped datasets)")
    parser.add_argument("--detect-every", type=int, default=None, metavar="N",
                        help="run the face detector every N frames, tracking in between")
    add_person_arguments(parser)
    parser.add_argument("--no-png", action="store_true", help="skip the per-event PNG figures")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _safe_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_.") or "input"


def _id_of(path: str) -> str:
    p = Path(path.rstrip("/\\"))
    return _safe_id(p.stem if p.suffix and not p.is_dir() else p.name)


def _is_manifest(item: str) -> bool:
    return item.lower().endswith(".csv") and Path(item).is_file()


def read_manifest(path: str | Path) -> list[BatchInput]:
    """The inputs a manifest CSV names; a bad row becomes an input that fails with the reason."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            columns = [(c or "").strip().lower() for c in (reader.fieldnames or [])]
            if "path" not in columns:
                raise BatchError(f"manifest {path} has no 'path' column (its columns: {', '.join(columns) or 'none'})")
            rows = [{(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if k is not None}
                    for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise BatchError(f"cannot read manifest {path}: {getattr(err, 'strerror', None) or err}") from None
    inputs = []
    for line, row in enumerate(rows, start=2):
        extra = {k: v for k, v in row.items() if k not in MANIFEST_KEYS}
        where = f"manifest {path.name} line {line}"
        if not row.get("path"):
            inputs.append(BatchInput(_safe_id(row.get("id") or f"{path.stem}_line{line}"), "", extra=extra,
                                     error=f"{where}: empty path"))
            continue
        target = Path(row["path"]) if Path(row["path"]).is_absolute() else path.parent / row["path"]
        item = BatchInput(_safe_id(row["id"]) if row.get("id") else _id_of(str(target)), str(target), extra=extra)
        if row.get("fps"):
            try:
                item.fps = float(row["fps"])
            except ValueError:
                item.fps = None
            if item.fps is None or not item.fps > 0:
                item.error = f"{where}: fps {row['fps']!r} is not a positive number"
        inputs.append(item)
    return inputs


def collect_inputs(items: list[str]) -> list[BatchInput]:
    """Every input the command line names, in order, with unique ids (a repeated name gets ``_2``, ``_3``)."""
    inputs: list[BatchInput] = []
    for item in items:
        if _is_manifest(item):
            inputs += read_manifest(item)
        elif any(ch in item for ch in "*?[") and not Path(item).exists():
            matches = sorted(glob.glob(item, recursive=True))
            if not matches:
                inputs.append(BatchInput(_safe_id(item), item, error=f"no file matches {item}"))
            inputs += [BatchInput(_id_of(m), m) for m in matches]
        else:
            inputs.append(BatchInput(_id_of(item), item))
    used: set[str] = set()
    for item in inputs:
        base, k = item.id, 1
        while item.id in used:
            k += 1
            item.id = f"{base}_{k}"
        used.add(item.id)
    return inputs


def is_complete(out_dir: Path) -> bool:
    """True when ``out_dir`` holds an input analysed to its end with a face found: a resumed batch skips it."""
    try:
        meta = json.loads((out_dir / "events.json").read_text())["metadata"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return bool(meta.get("complete")) and int(meta.get("frames_with_face") or 0) > 0


def summarise_folder(out_dir: Path) -> dict[str, Any]:
    """The corpus-table fields an input's ``events.json`` gives: frames, fps, events, micro, macro, per class."""
    try:
        doc = json.loads((out_dir / "events.json").read_text())
    except (OSError, ValueError):
        return {}
    meta, events = doc.get("metadata", {}), doc.get("events", [])
    row: dict[str, Any] = {"frames": meta.get("frames"), "frames_with_face": meta.get("frames_with_face"),
                           "fps": meta.get("fps"), "events": len(events),
                           "micro": sum(e.get("kind") == "micro" for e in events),
                           "macro": sum(e.get("kind") == "macro" for e in events),
                           "while_talking": (sum(bool(e["while_talking"]) for e in events)
                                             if all(e.get("while_talking") is not None for e in events) else None),
                           "left_out_as_speech": (len(meta["left_out_as_speech"]) if "left_out_as_speech" in meta
                                                  else None)}
    labels = list(meta.get("class_names") or []) + (["uncertain"] if meta.get("class_names") else [])
    for name in labels:
        row[f"n_{name}"] = 0
    for event in events:
        key = f"n_{event.get('label') or 'unrecognised'}"
        row[key] = row.get(key, 0) + 1
    return row


def read_event_rows(out_dir: Path) -> list[dict[str, str]]:
    try:
        with open(out_dir / "events.csv", newline="") as fh:
            return list(csv.DictReader(fh))
    except OSError:
        return []


_IMPORTED = time.perf_counter()
_WORKER: dict[str, Any] = {"recognizer": None, "error": None, "setup_s": None}
"""What :func:`setup_worker` loaded in this worker process, for every input it analyses, and how long that
took (reported with the worker's first input only)."""


def setup_worker(weights: str | None, device: str, recognize: bool) -> None:
    """Load the recogniser once per worker; a failure is kept and reported by every input of this worker."""
    _WORKER.update(recognizer=None, error=None, setup_s=None)
    try:
        _load_recognizer(weights, device, recognize)
    finally:
        _WORKER["setup_s"] = round(time.perf_counter() - _IMPORTED, 3)


def _load_recognizer(weights: str | None, device: str, recognize: bool) -> None:
    if not recognize:
        return
    from frl_core.engine.analysis import EngineError, load_recognizer

    try:
        _WORKER["recognizer"] = load_recognizer(weights, device)
    except EngineError as err:
        _WORKER["error"] = (EXIT_BAD_ARGUMENTS if err.reason == "device" else EXIT_NO_WEIGHTS, str(err))


def analyze_task(task: dict[str, Any]) -> dict[str, Any]:
    """Analyse one input in this worker (it opens the path itself); return its corpus row and event rows."""
    from frl_core.engine.cli import analyze_input, analyze_options

    t0 = time.perf_counter()
    out_dir = Path(task["out_dir"])
    worker = f"{socket.gethostname()}:{os.getpid()}"
    if _WORKER["error"] is not None:
        code, message = _WORKER["error"]
        return {"row": {"status": "failed", "error": message, "exit_code": code, "seconds": 0.0, "worker": worker},
                "events": []}
    args = analyze_options(task["path"], out=out_dir, no_progress=True, **task["options"])
    outcome = analyze_input(args, recognizer=_WORKER["recognizer"], echo=False)
    row = summarise_folder(out_dir)
    error = outcome.error or ("interrupted" if outcome.code == EXIT_INTERRUPTED else None)
    row.update(status="ok" if outcome.code == 0 else "failed", error=error, exit_code=outcome.code,
               seconds=round(time.perf_counter() - t0, 3), warning=outcome.warning, worker=worker,
               worker_setup_s=_WORKER.pop("setup_s", None))
    return {"row": row, "events": read_event_rows(out_dir) if outcome.code == 0 else []}


def write_corpus(out: Path, inputs: list[BatchInput], rows: dict[str, dict[str, Any]],
                 events: dict[str, list[dict[str, str]]]) -> None:
    """corpus.csv (one row per input, in input order) and events.csv (every event, its input's id first)."""
    extras = [k for item in inputs for k in item.extra]
    counts = [k for row in rows.values() for k in row if k.startswith("n_")]
    columns = CORPUS_COLUMNS + list(dict.fromkeys(extras)) + list(dict.fromkeys(counts))
    _write_csv(out / "corpus.csv", columns,
               [{"id": item.id, "path": item.path, **item.extra, **rows[item.id]} for item in inputs if item.id in rows])
    event_columns = ["input"] + list(dict.fromkeys(k for rs in events.values() for r in rs for k in r))
    _write_csv(out / "events.csv", event_columns,
               [{"input": item.id, **r} for item in inputs for r in events.get(item.id, [])])


def _write_csv(path: Path, columns: list[str], rows: list[dict[str, Any]]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows({k: ("" if v is None else v) for k, v in row.items()} for row in rows)
    tmp.replace(path)


def _previous_seconds(out: Path) -> dict[str, str]:
    try:
        with open(out / "corpus.csv", newline="") as fh:
            return {r["id"]: r.get("seconds", "") for r in csv.DictReader(fh) if r.get("status") == "ok"}
    except (OSError, KeyError, csv.Error):
        return {}


def run(args: argparse.Namespace, ray_init: dict[str, Any] | None = None) -> int:
    """The batch command; ``ray_init`` (tests) goes to ``ray.init`` when a local Ray is started."""
    if args.fps is not None and not args.fps > 0:
        return _fail(EXIT_BAD_ARGUMENTS, f"--fps must be positive, got {args.fps}")
    if args.detect_every is not None and args.detect_every < 1:
        return _fail(EXIT_BAD_ARGUMENTS, f"--detect-every must be at least 1, got {args.detect_every}")
    if args.workers is not None and args.workers < 1:
        return _fail(EXIT_BAD_ARGUMENTS, f"--workers must be at least 1, got {args.workers}")
    if args.weights is not None and not args.no_recognition and not Path(args.weights).is_file():
        return _fail(EXIT_NO_WEIGHTS, f"weights file not found: {args.weights}")
    try:
        inputs = collect_inputs([str(i) for i in args.inputs])
    except BatchError as err:
        return _fail(EXIT_BAD_ARGUMENTS, str(err))
    if not inputs:
        return _fail(EXIT_BAD_ARGUMENTS, "no inputs: the manifests name none")
    out: Path = args.out
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / ".write_test").write_text("")
        (out / ".write_test").unlink()
    except OSError as err:
        return _fail(EXIT_CANNOT_WRITE, f"cannot write to {out}: {err.strerror or err}")

    previous = _previous_seconds(out)
    rows: dict[str, dict[str, Any]] = {}
    events: dict[str, list[dict[str, str]]] = {}
    options = {"device": args.device, "weights": args.weights, "no_recognition": args.no_recognition,
               "whole_frame": args.whole_frame, "detect_every": args.detect_every, "follow": args.follow,
               "speech_train": args.speech_train, "head_turns": args.head_turns,
               "no_png": args.no_png}
    tasks, todo = [], []
    for item in inputs:
        folder = out / item.id
        if item.error is not None:
            rows[item.id] = {"status": "failed", "error": item.error, "exit_code": EXIT_BAD_ARGUMENTS}
        elif is_complete(folder):
            rows[item.id] = {**summarise_folder(folder), "status": "ok", "resumed": 1,
                             "seconds": previous.get(item.id, "")}
            events[item.id] = read_event_rows(folder)
        else:
            fps = item.fps if item.fps is not None else args.fps
            tasks.append({"path": item.path, "out_dir": str(folder), "options": {**options, "fps": fps}})
            todo.append(item)
    resumed = sum(1 for r in rows.values() if r.get("resumed"))
    try:
        backend = make_backend(args.workers, args.ray, **(ray_init or {})) if tasks else None
    except BackendError as err:
        return _fail(EXIT_BAD_ARGUMENTS, str(err))

    from tqdm import tqdm

    started = time.perf_counter()
    frames = 0
    bar = tqdm(total=len(inputs), initial=len(inputs) - len(tasks), unit="input", desc="batch",
               disable=args.no_progress, file=sys.stderr, dynamic_ncols=True)
    interrupted = False
    try:
        if backend is not None:
            setup_args = (str(args.weights) if args.weights else None, args.device, not args.no_recognition)
            for i, result, error in backend.run(analyze_task, tasks, setup=setup_worker, setup_args=setup_args):
                item = todo[i]
                if result is None:
                    result = {"row": {"status": "failed", "error": error, "exit_code": 1}, "events": []}
                rows[item.id], events[item.id] = result["row"], result["events"]
                frames += int(result["row"].get("frames") or 0)
                write_corpus(out, inputs, rows, events)
                bar.update(1)
                bar.set_postfix(frames=frames, fps=f"{frames / max(time.perf_counter() - started, 1e-9):.0f}")
    except KeyboardInterrupt:
        interrupted = True
    except OSError as err:
        return _fail(EXIT_CANNOT_WRITE, f"cannot write the corpus table in {out}: {err.strerror or err}")
    finally:
        bar.close()
        if backend is not None:
            backend.shutdown()
        _WORKER.update(recognizer=None, error=None, setup_s=None)  # the inline backend's model, not kept
    try:
        write_corpus(out, inputs, rows, events)
    except OSError as err:
        return _fail(EXIT_CANNOT_WRITE, f"cannot write the corpus table in {out}: {err.strerror or err}")
    elapsed = time.perf_counter() - started
    failed = [item for item in inputs if rows.get(item.id, {}).get("status") == "failed"]
    ok = sum(1 for item in inputs if rows.get(item.id, {}).get("status") == "ok")
    n_events = sum(int(rows[i.id].get("events") or 0) for i in inputs if i.id in rows)
    where = f"{backend.name}, {backend.workers} worker{'s' * (backend.workers != 1)}" if backend else "nothing to do"
    print(f"{ok} of {len(inputs)} inputs analysed ({resumed} already complete), {len(failed)} failed; "
          f"{frames} frames in {elapsed:.1f} s ({where}); {n_events} event{'s' * (n_events != 1)}; "
          f"corpus table {out / 'corpus.csv'}")
    for item in failed[:10]:
        print(f"  failed: {item.id}: {rows[item.id].get('error')}", file=sys.stderr)
    if interrupted:
        print("interrupted: run the same command again to analyse the inputs not yet complete", file=sys.stderr)
        return EXIT_INTERRUPTED
    if failed:
        return _fail(EXIT_SOME_FAILED, f"{len(failed)} of {len(inputs)} inputs failed (see {out / 'corpus.csv'})")
    return 0
