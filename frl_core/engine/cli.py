"""``python main.py analyze INPUT``: spot and recognise micro-expressions headlessly and write the results.

Outputs in ``--out`` (default ``out/<input name>``): ``frames.csv`` (per frame: timestamp, face found,
box, motion score, landmarks), ``events.csv`` and ``events.json`` (times, frames, kind, label,
probabilities, motion per AU region), ``events/*.png`` (one displacement-map figure per event) and,
with ``--video-out``, an annotated video. Events are written as they are found, so an interrupt (Ctrl-C,
SIGTERM) or a full disk loses none; ``events.json`` says ``"complete": false`` until the input was analysed
to its end, and a file that ends before the frames it announces is reported with a warning.

Exit codes: 0 done; 2 bad input (missing file, unreadable video, empty folder, no camera, bad option);
3 no face in any frame; 4 unusable weights file; 5 cannot write outputs; 130 interrupted.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

EXIT_BAD_INPUT = 2
EXIT_NO_FACE = 3
EXIT_BAD_WEIGHTS = 4
EXIT_CANNOT_WRITE = 5
EXIT_INTERRUPTED = 130


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = ("exit codes: 0 done, 2 bad input, 3 no face found, 4 unusable weights, "
                     "5 cannot write outputs, 130 interrupted")
    parser.add_argument("input", metavar="INPUT",
                        help="video file, folder of frames (natural order), single image, or camera index")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: out/<input name>)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="where the network runs (default: auto = GPU when present)")
    parser.add_argument("--fps", type=float, default=None,
                        help="frame rate to assume (frame folders default to 30; CASME II is 200)")
    parser.add_argument("--weights", type=Path, default=None,
                        help="recogniser checkpoint (default: the shipped assets/weights)")
    parser.add_argument("--no-recognition", action="store_true",
                        help="spot only: events get an optical-flow displacement map (same units: pixels of "
                             "the aligned face, head motion removed) but no label")
    parser.add_argument("--whole-frame", action="store_true",
                        help="use the whole frame as the face when none is detected (face-cropped datasets)")
    parser.add_argument("--detect-every", type=int, default=None, metavar="N",
                        help="run the face detector every N frames, tracking in between")
    parser.add_argument("--video-out", nargs="?", const="annotated.mp4", default=None, metavar="FILE",
                        help="also write an annotated video (.mp4 mp4v or .avi MJPG; default annotated.mp4, "
                             "relative paths inside --out)")
    parser.add_argument("--no-png", action="store_true", help="skip the per-event PNG figures")
    parser.add_argument("--batch", type=int, default=4, metavar="N",
                        help="recognise events in batches of N (all remaining at the end; default 4)")
    parser.add_argument("--max-frames", type=int, default=None, metavar="N", help="stop after N frames")
    parser.add_argument("--duration", type=float, default=None, metavar="S",
                        help="camera input: stop after S seconds (otherwise Ctrl-C)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _terminate(_signum, _frame) -> None:
    """SIGTERM ends a run as Ctrl-C does: what was found is written and marked incomplete."""
    raise KeyboardInterrupt


def _fail(code: int, message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def _default_out(source_name: str) -> Path:
    stem = Path(source_name).stem if "." in source_name else source_name
    return Path("out") / (re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("_") or "input")


def _light(event):
    """The event without its arrays: what the run keeps in memory once its PNG is written."""
    from dataclasses import replace

    return replace(event, displacement=None, onset_face=None, apex_face=None)


@dataclass
class AnalyzeOutcome:
    """How one input's analysis ended: what ``analyze`` prints and exits with, and what ``batch`` tabulates."""

    code: int
    """The exit code ``analyze`` returns (0 done; the EXIT_* constants)."""
    error: str | None = None
    """One line saying why the input failed (without the ``error:`` prefix)."""
    out_dir: Path | None = None
    frames: int = 0
    faces: int = 0
    fps: float | None = None
    events: list = field(default_factory=list)
    """Every event found, without its arrays."""
    class_names: tuple[str, ...] = ()
    seconds: float = 0.0
    summary: str | None = None
    """The line printed once the input was read (frames, fps, events, where the results are)."""
    warning: str | None = None
    """Said when the file ended before the frames it announces."""


def analyze_options(input_path: str | Path, **overrides) -> argparse.Namespace:
    """``analyze``'s options for one input, its defaults but for ``overrides`` (``batch`` builds them so)."""
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([str(input_path)])
    for key, value in overrides.items():
        if not hasattr(args, key):
            raise TypeError(f"analyze has no option {key!r}")
        setattr(args, key, value)
    return args


def _failed(code: int, message: str, **fields) -> AnalyzeOutcome:
    return AnalyzeOutcome(code=code, error=message, **fields)


def run(args: argparse.Namespace) -> int:
    outcome = analyze_input(args)
    if outcome.summary is not None:
        print(outcome.summary)
    if outcome.warning is not None:
        print(f"warning: {outcome.warning}", file=sys.stderr)
    if outcome.error is not None:
        return _fail(outcome.code, outcome.error)
    return outcome.code


def analyze_input(args: argparse.Namespace, recognizer=None, echo: bool = True) -> AnalyzeOutcome:
    """Analyse ``args.input`` into ``args.out`` and say how it ended; never raises for bad input.

    ``recognizer``: one already loaded (a batch worker loads it once for all its inputs); ``echo``: print
    each event as it is found and show the frame progress bar (``args.no_progress`` also hides the bar).
"""
    from frl_core.engine import AnalysisEngine, EngineConfig, EngineError, LiveRunner
    from frl_core.io.exports import (LABEL_DELAY_S, AnnotatedVideoWriter, ExportError, FramesCsvWriter,
                                     write_event_png, write_events_csv, write_events_json)
    from frl_core.paths import MissingModelFileError
    from frl_core.io.sources import SourceError, open_source

    if args.fps is not None and not args.fps > 0:
        return _failed(EXIT_BAD_INPUT, f"--fps must be positive, got {args.fps}")
    if args.detect_every is not None and args.detect_every < 1:
        return _failed(EXIT_BAD_INPUT, f"--detect-every must be at least 1, got {args.detect_every}")
    if args.max_frames is not None and args.max_frames < 1:
        return _failed(EXIT_BAD_INPUT, f"--max-frames must be at least 1, got {args.max_frames}")
    if args.duration is not None and not args.duration > 0:
        return _failed(EXIT_BAD_INPUT, f"--duration must be positive, got {args.duration}")
    if args.batch < 1:
        return _failed(EXIT_BAD_INPUT, f"--batch must be at least 1, got {args.batch}")
    if args.video_out is not None and not Path(args.video_out).is_absolute() and ".." in Path(args.video_out).parts:
        return _failed(EXIT_BAD_INPUT, f"--video-out {args.video_out}: a relative path must stay inside --out "
                                     "(give an absolute path to write elsewhere)")
    if str(args.input).isdigit() and int(args.input) > 63:
        return _failed(EXIT_BAD_INPUT, f"no camera at index {args.input} (camera indices are small numbers, 0-63)")
    try:
        source = open_source(args.input, fps_override=args.fps)
    except SourceError as err:
        return _failed(EXIT_BAD_INPUT, str(err))

    from frl_core.faces import FaceConfig

    face_kwargs = {"whole_frame_fallback": bool(args.whole_frame)}
    if args.detect_every is not None:
        face_kwargs["detect_every_n"] = args.detect_every
    config = EngineConfig(
        fps=source.fps,
        face=FaceConfig(**face_kwargs),
        device=args.device,
        weights=args.weights,
        recognize=not args.no_recognition,
        # Live input and the annotated video want each label as soon as its event ends.
        recognition_batch=1 if source.is_live or args.video_out is not None else max(1, args.batch),
    )
    try:
        engine = AnalysisEngine(config, recognizer=recognizer if config.recognize else None)
    except EngineError as err:
        source.close()
        return _failed(EXIT_BAD_INPUT if err.reason == "device" else EXIT_BAD_WEIGHTS, str(err))
    except MissingModelFileError as err:
        source.close()
        return _failed(1, str(err))

    out_dir: Path = args.out if args.out is not None else _default_out(source.name)
    try:
        frames_csv = FramesCsvWriter(out_dir / "frames.csv")
        video = None
        if args.video_out is not None:
            video_path = Path(args.video_out)
            video = AnnotatedVideoWriter(video_path if video_path.is_absolute() else out_dir / video_path, source.fps,
                                         delay_s=LABEL_DELAY_S)
    except ExportError as err:
        source.close()
        return _failed(EXIT_CANNOT_WRITE, str(err))

    from tqdm import tqdm

    total = source.frame_count
    if args.max_frames is not None:
        total = min(total, args.max_frames) if total is not None else args.max_frames
    progress = tqdm(total=total, unit="frame", desc=source.name, disable=args.no_progress or not echo, file=sys.stderr,
                    dynamic_ncols=True)
    runner = LiveRunner(source, engine, drop=source.is_live, queue_size=1 if source.is_live else 8,
                        max_frames=args.max_frames)
    kept = []
    pngs: list[Path] = []
    faces = 0
    t_start = time.monotonic()
    metadata = {
        "source": str(args.input),
        "fps": source.fps,
        "device": engine.device_name,
        "weights": str(args.weights) if args.weights else ("shipped default" if config.recognize else None),
        "class_names": list(engine.class_names),
        "complete": False,
    }

    def save_events(complete: bool) -> None:
        """Write every event found so far; ``complete`` says whether the input was analysed to its end."""
        stats = runner.stats()
        metadata.update(frames=frames_csv.rows, frames_with_face=faces, dropped_frames=stats.dropped,
                        complete=complete)
        write_events_csv(out_dir / "events.csv", kept)
        write_events_json(out_dir / "events.json", kept, metadata)

    def on_frame(frame, result, events) -> None:
        nonlocal faces
        frames_csv.write(result)
        faces += result.face is not None
        if video is not None:
            video.write(frame, result)
        progress.update(1)
        if args.duration is not None and time.monotonic() - t_start >= args.duration:
            runner.stop()

    def on_events(events) -> None:
        for event in events:
            kept.append(_light(event))
        if video is not None:
            video.add_events(kept[len(kept) - len(events):])
        for event in events if echo else ():
            if event.label is not None:
                progress.write(f"{event.apex_time:8.2f}s  {event.kind:5s} {event.label_text()}")
            else:
                progress.write(f"{event.apex_time:8.2f}s  {event.kind:5s} (not recognised)")
        save_events(complete=False)  # so that no fault or interrupt can lose an event already found
        if not args.no_png:
            for event in events:
                pngs.append(write_event_png(out_dir / "events", event))

    interrupted = False
    previous_term = signal.signal(signal.SIGTERM, _terminate) if threading.current_thread() is threading.main_thread() \
        else None
    try:
        try:
            runner.run(on_frame=on_frame, on_events=on_events)
        except KeyboardInterrupt:
            interrupted = True
            runner.stop()
            try:
                on_events(engine.flush())
            except KeyboardInterrupt:  # a second Ctrl-C: the events found so far are already on disk
                pass
        frames_csv.close()
        save_events(complete=not interrupted and runner.error is None)
    except ExportError as err:
        try:
            save_events(complete=False)
            kept_note = f"; the {len(kept)} events found so far are in {out_dir / 'events.json'} (marked incomplete)"
        except ExportError:
            kept_note = ""
        return _failed(EXIT_CANNOT_WRITE, f"{err}{kept_note}", out_dir=out_dir, frames=frames_csv.rows, faces=faces,
                       fps=source.fps, events=kept, class_names=engine.class_names,
                       seconds=time.monotonic() - t_start)
    finally:
        if previous_term is not None:
            signal.signal(signal.SIGTERM, previous_term)
        progress.close()
        try:
            frames_csv.close()
            if video is not None:
                video.close()
        except ExportError:
            pass
        source.close()
    elapsed = time.monotonic() - t_start
    stats = runner.stats()
    n = frames_csv.rows
    micro = sum(e.kind == "micro" for e in kept)
    outcome = AnalyzeOutcome(
        code=0, out_dir=out_dir, frames=n, faces=faces, fps=source.fps, events=kept,
        class_names=engine.class_names, seconds=elapsed,
        summary=f"{n} frames in {elapsed:.1f} s ({n / max(elapsed, 1e-9):.1f} fps), face in {faces}, "
                f"{stats.dropped} dropped; {len(kept)} events ({micro} micro, {len(kept) - micro} macro) "
                f"on {engine.device_name}; results in {out_dir}")
    if runner.error is not None:
        outcome.code, outcome.error = EXIT_BAD_INPUT, runner.error
    elif interrupted:
        outcome.code = EXIT_INTERRUPTED
    else:
        if (source.frame_count and not source.is_live and args.max_frames is None and args.duration is None
                and n < 0.98 * source.frame_count):
            outcome.warning = (f"{source.name} ended early: {n} of the {source.frame_count} frames it announces "
                               "could be read (a truncated or damaged file?); events.json says so")
        if n == 0:
            outcome.code, outcome.error = EXIT_BAD_INPUT, f"{source.name} delivered no frames"
        elif faces == 0:
            hint = "" if args.whole_frame else " (for face-cropped frames try --whole-frame)"
            outcome.code, outcome.error = EXIT_NO_FACE, f"no face found in any of the {n} frames{hint}"
    return outcome
