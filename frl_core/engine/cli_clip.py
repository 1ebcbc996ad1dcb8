"""The parts of ``python main.py analyze`` beyond spotting: ``--clip`` (one input, one movement),
``--coding-table`` (clip mode over a dataset) and ``--truth`` (comparison with coded intervals).

Clip mode writes the files a spotting run writes (``frames.csv``, ``events.csv``, ``events.json``, one PNG),
with exactly one event, so the GUI and every reader take them unchanged; in ``frames.csv`` the motion score
is the apex curve: each frame's AU-region motion from the onset, smoothed, the apex at its peak.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from frl_core.engine.cli import (EXIT_BAD_INPUT, EXIT_BAD_WEIGHTS, EXIT_CANNOT_WRITE, EXIT_INTERRUPTED, EXIT_NO_FACE,
                                  _default_out, _fail)


class CommandExit(Exception):
    """Ends a command with a one-line message and an exit code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def load_recognizer_for(args: argparse.Namespace) -> Any:
    """The recogniser the options ask for (None with --no-recognition); a bad file or device is an CommandExit."""
    if args.no_recognition:
        return None
    from frl_core.engine.analysis import EngineError, load_recognizer

    try:
        return load_recognizer(args.weights, args.device)
    except EngineError as err:
        raise CommandExit(EXIT_BAD_INPUT if err.reason == "device" else EXIT_BAD_WEIGHTS, str(err)) from None


def engine_config(args: argparse.Namespace, fps: float, whole_frame: bool | None = None) -> Any:
    from frl_core.engine.analysis import EngineConfig
    from frl_core.faces import FaceConfig

    face_kwargs: dict[str, Any] = {"whole_frame_fallback": bool(args.whole_frame if whole_frame is None else whole_frame),
                                   "follow": args.follow}
    if args.detect_every is not None:
        face_kwargs["detect_every_n"] = args.detect_every
    return EngineConfig(fps=fps, face=FaceConfig(**face_kwargs), device=args.device, weights=args.weights,
                        recognize=not args.no_recognition)


def folder_rate_warning(source: Any) -> str | None:
    """The one-line warning for an input analysed at an assumed rate (the source says where its rate comes
    from: a frame folder stores none, a file may state an implausible one), else None."""
    if getattr(source, "fps_origin", "source") != "assumed" or (source.frame_count or 0) < 2:
        return None
    what = "a frame folder has no frame rate" if hasattr(source, "files") else "the file states no plausible frame rate"
    return (f"warning: {source.name}: {what}; assuming {source.fps:g} fps "
            "(CASME II and SAMM are 200, SMIC-HS 100): give the real one with --fps")


def variable_rate_note(source: Any) -> str | None:
    """The note for a file whose frames came at a variable rate (resampled to a constant one), else None."""
    if not getattr(source, "variable_rate", False):
        return None
    return (f"note: {source.name} has a variable frame rate ({source.reported_fps:.3g} fps on average): its frames "
            f"are resampled to {source.fps:g} fps by their timestamps, so times and frame indices follow the clock")


def load_truth_for(args: argparse.Namespace, source: Any) -> list | None:
    """The --truth intervals in the input's frame indices, or None without --truth; a bad file is an CommandExit."""
    if args.truth is None:
        return None
    from frl_core.engine.truth import is_coding_table, load_truth, rate_note
    from frl_core.io.ground_truth import GroundTruthError, to_source_indices
    from frl_core.io.sources import FrameFolderSource

    own_rate = source.fps if getattr(source, "fps_origin", None) == "source" else None
    try:
        truth = load_truth(args.truth, args.truth_clip, args.dataset, fps=own_rate)
        note = rate_note(args.truth, own_rate)
        if note:
            print(f"note: {note}")
        if is_coding_table(args.truth):
            if not isinstance(getattr(source, "inner", source), FrameFolderSource):
                raise GroundTruthError("a coding table's frame numbers name image files: analyse the clip's "
                                       "frame folder, or give the truth as JSON/CSV in frame indices")
            from frl_core.data.raw import frame_index

            numbers = {path: n for n, path in frame_index(source.files[0].parent).items()}
            truth = to_source_indices(truth, [numbers.get(p, -1) for p in source.files])
    except GroundTruthError as err:
        raise CommandExit(EXIT_BAD_INPUT, str(err)) from None
    return truth


def compare_with_truth(truth: list, events: list, metadata: dict) -> None:
    """Print the comparison and put it in the metadata that goes into events.json."""
    from frl_core.io.ground_truth import compare_to_truth

    comparison = compare_to_truth(truth, events)
    print(comparison.summary())
    metadata["truth"] = {"file": None, "intervals": len(truth), **comparison.as_dict()}


def _read_all(source: Any, max_frames: int | None) -> list:
    from frl_core.io.sources import SourceError

    frames = []
    try:
        while max_frames is None or len(frames) < max_frames:
            item = source.read()
            if item is None:
                break
            frames.append(item[1])
    except SourceError as err:
        raise CommandExit(EXIT_BAD_INPUT, str(err)) from None
    unreadable = getattr(source, "unreadable", None)
    if unreadable:
        # one measurement of the clip's own frames: a stand-in frame could be its onset or apex
        raise CommandExit(EXIT_BAD_INPUT, f"cannot read image {unreadable[0]}: not an image OpenCV can decode (clip "
                                          "mode measures the clip's own frames: replace or remove it)")
    return frames


def run_clip(args: argparse.Namespace) -> int:
    """``analyze INPUT --clip``: the whole input as one movement, one event written."""
    try:
        return _run_clip(args)
    except CommandExit as stop:
        return _fail(stop.code, str(stop))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _run_clip(args: argparse.Namespace) -> int:
    from frl_core.engine.clip import ClipAnalyzer, ClipError
    from frl_core.io.exports import (ExportError, FramesCsvWriter, frame_csv_header, output_metadata, write_event_png,
                                     write_events_csv, write_events_json, write_sidecar)
    from frl_core.io.sources import CameraSource, SourceError, open_source
    from frl_core.paths import MissingModelFileError

    try:
        source = open_source(args.input, fps_override=args.fps, rotate=args.rotate)
    except SourceError as err:
        raise CommandExit(EXIT_BAD_INPUT, str(err)) from None
    try:
        if isinstance(getattr(source, "inner", source), CameraSource):
            raise CommandExit(EXIT_BAD_INPUT, "--clip takes a recorded video or a frame folder, not a camera")
        warning = folder_rate_warning(source)
        if warning:
            print(warning, file=sys.stderr)
        truth = load_truth_for(args, source)
        recognizer = load_recognizer_for(args)
        frames = _read_all(source, args.max_frames)
    finally:
        source.close()
    config = engine_config(args, source.fps)
    analyzer = ClipAnalyzer(config, recognizer)
    try:
        result = analyzer.analyse(frames, source.fps, args.onset, args.apex, args.offset)
    except ClipError as err:
        if err.reason == "no_face":
            hint = "" if args.whole_frame else " (for face-cropped frames try --whole-frame)"
            raise CommandExit(EXIT_NO_FACE, f"{err}{hint}") from None
        raise CommandExit(EXIT_BAD_INPUT, str(err)) from None
    except MissingModelFileError as err:
        raise CommandExit(1, str(err)) from None
    event = result.event
    out_dir: Path = args.out if args.out is not None else _default_out(source.name)
    faces = sum(r.face is not None for r in result.frames)
    weights = args.weights
    if weights is None and recognizer is not None:
        from frl_core.models.inference import default_checkpoint_path

        weights = default_checkpoint_path()
    metadata = {
        "source": str(args.input), "rotated_clockwise_deg": int(args.rotate), "fps": source.fps, "weights": weights,
        "face_settings": config.face,
        "spotter_settings": config.spotter, "mode": "clip",
        "device": getattr(recognizer, "device_name", "off") if recognizer is not None else "off",
        "class_names": list(getattr(recognizer, "class_names", ())),
        "apex": "found" if result.apex_found else "given",
        "frames": len(result.frames), "frames_with_face": faces, "dropped_frames": 0, "complete": True,
    }
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    if result.recognition_error is not None:
        print(f"warning: {result.recognition_error}; the event has an optical-flow map and no label", file=sys.stderr)
    print(f"clip of {len(result.frames)} frames: onset {event.onset_index}, apex {event.apex_index} "
          f"({'largest AU-region motion from the onset' if result.apex_found else 'given'}), offset "
          f"{event.offset_index}: {event.label_text()}"
          + ("" if not event.probabilities else
             " [" + ", ".join(f"{k} {v:.2f}" for k, v in event.probabilities.items()) + "]"))
    if truth is not None:
        compare_with_truth(truth, [event], metadata)
        metadata["truth"]["file"] = str(args.truth)
    try:
        with FramesCsvWriter(out_dir / "frames.csv") as frames_csv:
            for frame_result in result.frames:
                frames_csv.write(frame_result)
        meta = output_metadata(**metadata)
        write_events_csv(out_dir / "events.csv", [event], meta)
        write_events_json(out_dir / "events.json", [event], meta)
        write_sidecar(out_dir / "frames.csv", frame_csv_header(), meta)
        if not args.no_png:
            write_event_png(out_dir / "events", event)
    except ExportError as err:
        raise CommandExit(EXIT_CANNOT_WRITE, str(err)) from None
    print(f"results in {out_dir}")
    return 0


def run_batch(args: argparse.Namespace) -> int:
    """``analyze DATASET_ROOT --coding-table TABLE``: clip mode on every clip the table lists."""
    try:
        return _run_batch(args)
    except CommandExit as stop:
        return _fail(stop.code, str(stop))
    except KeyboardInterrupt:
        print("interrupted: the clips analysed so far are in the table; run the same command again to resume",
              file=sys.stderr)
        return EXIT_INTERRUPTED


def _run_batch(args: argparse.Namespace) -> int:
    from frl_core.engine.dataset_batch import DATASET_FPS, BatchError, run_batch as batch
    from frl_core.engine.clip import ClipAnalyzer
    from frl_core.engine.truth import guess_dataset, read_coding_table
    from frl_core.io.ground_truth import GroundTruthError
    from frl_core.paths import MissingModelFileError

    root = Path(args.input)
    if not root.is_dir():
        raise CommandExit(EXIT_BAD_INPUT, f"--coding-table needs the dataset's root folder as INPUT; {root} is not a folder")
    dataset = args.dataset or guess_dataset(args.coding_table)
    try:
        clips, warnings = read_coding_table(args.coding_table, dataset, root)
    except GroundTruthError as err:
        raise CommandExit(EXIT_BAD_INPUT, str(err)) from None
    missing = [w for w in warnings if "not found" in w or "no image" in w]
    if missing:
        print(f"warning: {len(missing)} clips of {Path(args.coding_table).name} have no frame folder under {root} "
              f"(e.g. {missing[0]})", file=sys.stderr)
    if not clips:
        raise CommandExit(EXIT_BAD_INPUT, f"none of the clips of {Path(args.coding_table).name} has its frames under {root} "
                                    f"(the {dataset} layout, e.g. sub01/EP02_01f/img46.jpg for CASME II)")
    fps = args.fps if args.fps is not None else DATASET_FPS[dataset]
    recognizer = load_recognizer_for(args)
    class_names = tuple(getattr(recognizer, "class_names", ()))
    out_dir: Path = args.out if args.out is not None else Path("out") / f"{dataset}_batch"
    table = out_dir / "predictions.csv"
    from tqdm import tqdm

    progress = tqdm(total=len(clips), unit="clip", desc=dataset, disable=args.no_progress, file=sys.stderr,
                    dynamic_ncols=True)

    def report(line: str) -> None:
        progress.update(1)
        if args.no_progress:
            print(line, file=sys.stderr)
        else:
            progress.set_postfix_str(line.split("] ", 1)[-1][:60])

    # dataset frames are often face crops the detector misses: the whole frame is then the face
    analyzer = ClipAnalyzer(engine_config(args, fps, whole_frame=True), recognizer)
    try:
        summary = batch(clips, analyzer, table, class_names, fps, find_apex=args.find_apex, progress=report)
    except BatchError as err:
        raise CommandExit(EXIT_CANNOT_WRITE if "cannot write" in str(err) else EXIT_BAD_INPUT, str(err)) from None
    except MissingModelFileError as err:
        raise CommandExit(1, str(err)) from None
    finally:
        progress.close()
    doc = {"coding_table": str(args.coding_table), "dataset": dataset, "root": str(root), "fps": fps,
           "apex": "found" if args.find_apex else "coding table", "class_names": list(class_names),
           **summary.as_dict()}
    try:
        (out_dir / "summary.json").write_text(json.dumps(doc, indent=2))
    except OSError as err:
        raise CommandExit(EXIT_CANNOT_WRITE, f"cannot write {out_dir / 'summary.json'}: {err.strerror or err}") from None
    line = (f"{summary.clips} clips: {summary.done} analysed now, {summary.skipped} already in the table, "
            f"{summary.failed} failed")
    if summary.scores is not None:
        s = summary.scores
        line += f"; UF1 {s.uf1:.4f}, UAR {s.uar:.4f}, accuracy {s.accuracy:.4f} on {s.n} labelled clips"
        line += f" ({summary.uncertain} uncertain)"
    print(f"{line}; predictions in {table}")
    return 0
