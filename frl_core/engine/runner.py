"""Running a source through the engine: in this thread (:func:`analyse_source`) or with a capture thread,
a face-stage thread and bounded queues between them (:class:`LiveRunner`). Live input drops the oldest
frame when the consumer is busy and counts it; recorded input waits, so no frame is lost.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from frl_core.engine.analysis import AnalysisEngine
from frl_core.faces import to_gray
from frl_core.io.sources import FrameSource, SourceError
from frl_core.types import Event, FrameResult


FrameCallback = Callable[[np.ndarray, FrameResult, list[Event]], None]
EventsCallback = Callable[[list[Event]], None]


def analyse_source(
    source: FrameSource,
    engine: AnalysisEngine,
    on_frame: FrameCallback | None = None,
    on_events: EventsCallback | None = None,
    max_frames: int | None = None,
) -> list[Event]:
    """Run a recorded source through the engine in this thread; every event found, flush included.

    ``on_frame(frame, result, events)`` follows each frame; ``on_events(events)`` follows each batch
    of events, including those the final flush completes.
    """
    found: list[Event] = []
    n = 0
    while max_frames is None or n < max_frames:
        item = source.read()
        if item is None:
            break
        result, events = engine.process(*item)
        n += 1
        if on_frame is not None:
            on_frame(item[1], result, events)
        if events:
            found += events
            if on_events is not None:
                on_events(events)
    tail = engine.flush()
    if tail and on_events is not None:
        on_events(tail)
    return found + tail


class EndOfSource:
    """The marker a recorded source's capture puts after its last frame; a queue never drops it."""


END = EndOfSource()


@dataclass
class FrameItem:
    """One captured frame on its way to analysis."""

    index: int
    """Position of the frame in its source."""
    timestamp: float
    frame: np.ndarray
    gray: np.ndarray | None = None
    """Grayscale copy made in the capture thread, so conversion overlaps the analysis of the previous
    frame (None for a frame already analysed, which is only shown again)."""


class FrameQueue:
    """A bounded hand-over between a producer and a consumer thread.

    ``put(item, drop=True)`` on a full queue discards the *oldest* frame (never an :data:`END` marker)
    and counts it in ``dropped``, so the consumer always gets the freshest frame (live input);
    ``drop=False`` waits for room (recorded input, where every frame matters) until the queue is closed
    or ``stop`` is set. ``close()`` wakes everyone; ``get`` then drains what is left and returns None
    (``close(discard=True)`` throws the rest away: analysis stops at once).
    """

    def __init__(self, maxsize: int = 1) -> None:
        self.maxsize = max(1, int(maxsize))
        self._items: deque = deque()
        self._cond = threading.Condition()
        self._closed = False
        self.dropped = 0
        self.put_count = 0

    def put(self, item: Any, drop: bool = True, stop: threading.Event | None = None) -> bool:
        """Enqueue; return False when the queue was closed or ``stop`` set (the producer should stop)."""
        with self._cond:
            if not drop:
                while len(self._items) >= self.maxsize and not self._closed and not (stop and stop.is_set()):
                    self._cond.wait(0.05 if stop is not None else None)
                if stop is not None and stop.is_set():
                    return False
            if self._closed:
                return False
            while drop and len(self._items) >= self.maxsize:
                victim = next((i for i, x in enumerate(self._items) if not isinstance(x, EndOfSource)), None)
                if victim is None:
                    break
                del self._items[victim]
                self.dropped += 1
            self._items.append(item)
            self.put_count += 1
            self._cond.notify_all()
            return True

    def get(self, timeout: float | None = None) -> Any | None:
        """The next item; None once closed and empty, or after ``timeout`` seconds without one."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._items:
                if self._closed:
                    return None
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(remaining)
            item = self._items.popleft()
            self._cond.notify_all()
            return item

    def close(self, discard: bool = False) -> None:
        with self._cond:
            self._closed = True
            if discard:
                self._items.clear()
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def __len__(self) -> int:
        return len(self._items)


def gray_copy(frame: np.ndarray) -> np.ndarray | None:
    """The grayscale frame the analysis runs on, or None for a frame it cannot convert (the engine then
    reports that frame itself)."""
    try:
        return to_gray(frame)
    except (ValueError, cv2.error):
        return None


@dataclass
class SourceInfo:
    """What a user is shown about an opened source."""

    spec: str | int
    name: str
    fps: float
    frame_count: int | None
    is_live: bool
    frame_size: tuple[int, int] | None
    fps_origin: str = "source"
    """"source", "override" or "assumed" (nothing stores a rate, e.g. a folder of frames)."""
    variable_rate: bool = False
    """The file's frames came at a variable rate and are resampled to ``fps`` by their timestamps."""


class AnalysedFrames:
    """Indices already analysed in a session (capture reads it to pace replays, analysis writes it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done: set[int] = set()

    def add(self, index: int) -> None:
        with self._lock:
            self._done.add(index)

    def __contains__(self, index: int) -> bool:
        with self._lock:
            return index in self._done

    def __len__(self) -> int:
        with self._lock:
            return len(self._done)


class RateMeter:
    """Frames per second over the last second or so."""

    def __init__(self, span_s: float = 1.0) -> None:
        self.span_s = span_s
        self._times: deque[float] = deque()
        self._lock = threading.Lock()

    def tick(self) -> None:
        now = time.monotonic()
        with self._lock:
            self._times.append(now)
            while self._times and now - self._times[0] > self.span_s:
                self._times.popleft()

    def rate(self) -> float:
        with self._lock:
            if len(self._times) < 2:
                return 0.0
            span = self._times[-1] - self._times[0]
            return (len(self._times) - 1) / span if span > 0 else 0.0


def other_size_message(source: FrameSource) -> str:
    """What a user is told of a frame folder whose frames are not all the size of its first."""
    w, h = source.frame_size
    more = len(source.other_size) - 1
    which = f"{source.other_size[0].name} and {more} more frame{'s' if more > 1 else ''} are" if more else \
        f"{source.other_size[0].name} is"
    return (f"{which} not {w}x{h} like the first frame: a folder that mixes frame sizes (a crop, a thumbnail) "
            "shows the face moving where it did not")


def damaged_message(source: FrameSource) -> str:
    """What a user is told of a video file read on past a damaged stretch."""
    damaged = source.damaged
    return (f"{len(damaged)} frame{'s' if len(damaged) > 1 else ''} of {source.name} could not be decoded (from frame "
            f"{damaged[0]}): reading went on past the damage, the next decoded frame standing in, so later frames "
            "keep their times; an event in the second after it may be the damage's, not the face's")


class CaptureListener:
    """What a capture thread reports; every method is called from the capture thread (no-ops here)."""

    def opened(self, capture: CaptureThread, info: SourceInfo) -> None: ...

    def open_failed(self, capture: CaptureThread, message: str) -> None: ...

    def failed(self, capture: CaptureThread, message: str) -> None:
        """The source broke mid-stream (camera unplugged, a file that cannot be read on)."""

    def notice(self, capture: CaptureThread, message: str) -> None:
        """Something a user should know that does not stop reading (a damaged frame stood in for)."""

    def ended(self, capture: CaptureThread) -> None:
        """A recorded source reached its end (it may be played again)."""

    def recording_failed(self, capture: CaptureThread, message: str) -> None: ...


class CaptureThread(threading.Thread):
    """Reads one source into a :class:`FrameQueue` of :class:`FrameItem`: the one capture of the CLI, the
    benchmark and the GUI.

    ``source`` is an opened :class:`FrameSource` or what ``source_factory`` opens (a path, a camera
    index): opened in this thread, so a slow camera never blocks the caller. Live input drops frames the
    consumer has not taken (counted in the queue's ``dropped``); recorded input waits. Commands from any
    thread: ``play``, ``pause``, ``step``, ``seek``, ``set_pace`` ("max": as fast as analysis takes
    frames; "1x": at the source's frame rate, as are replays of analysed frames), ``start_recording`` /
    ``stop_recording`` (live input to a video file) and ``stop``.

    With ``stop_at_end`` (the CLI) the queue is closed after the last frame or a read error, which ends
    the consumer; without it (the GUI) an :data:`END` marker follows the last frame and the source stays
    open for a replay or a seek. A read error ends the thread with the message in ``error``.
    """

    def __init__(self, source: FrameSource | str | int, queue: FrameQueue | None = None, drop: bool | None = None,
                 max_frames: int | None = None, *, fps_override: float | None = None, pace: str = "max",
                 autoplay: bool = True, stop_at_end: bool = True, analysed: AnalysedFrames | None = None,
                 listener: CaptureListener | None = None,
                 source_factory: Callable[[str | int, float | None], FrameSource] | None = None) -> None:
        opened = isinstance(source, FrameSource)
        super().__init__(name=f"capture:{source.name if opened else source}", daemon=True)
        self.source: FrameSource | None = source if opened else None
        self._owns_source = not opened
        """A source opened here is closed here; one handed in is the caller's to close."""
        self.spec: str | int = source.name if opened else source
        self.queue = queue
        self.drop = bool(source.is_live) if drop is None and opened else drop
        self.max_frames = max_frames
        self.fps_override = fps_override
        self.pace = pace
        self.stop_at_end = stop_at_end
        self.analysed = analysed if analysed is not None else AnalysedFrames()
        self.listener = listener or CaptureListener()
        self.source_factory = source_factory
        self.info: SourceInfo | None = None
        self.rate_in = RateMeter()
        self.captured = 0
        self._unreadable_reported = 0
        self._other_size_reported = False
        self._damaged_reported = 0
        self.error: str | None = None
        self._stop_event = threading.Event()
        self._cond = threading.Condition()
        self._playing = autoplay
        self._steps = 0
        self._seek_to: int | None = None
        self._at_end = False
        self._record_path: Path | None = None
        self._recorder: cv2.VideoWriter | None = None
        self._release = threading.Event()
        """Set once the consumer's queue is attached (``attach``) or the thread is stopped."""
        self._graceful = False
        if queue is not None:
            self._release.set()

    # --- commands, from any thread ------------------------------------------------------------------
    def attach(self, queue: FrameQueue) -> None:
        """Give the queue to read into (the GUI attaches one once the source opened); reading starts."""
        self.queue = queue
        self._release.set()

    def play(self) -> None:
        """Play on; at the end of a recorded source, from the start again (analysed frames are replayed)."""
        with self._cond:
            if self._at_end:
                self._seek_to, self._at_end = 0, False
            self._playing = True
            self._cond.notify_all()

    def pause(self) -> None:
        with self._cond:
            self._playing = False
            self._cond.notify_all()

    def is_playing(self) -> bool:
        return self._playing

    def step(self) -> None:
        with self._cond:
            self._playing = False
            self._steps += 1
            self._cond.notify_all()

    def seek(self, index: int) -> None:
        with self._cond:
            self._seek_to, self._at_end = max(0, int(index)), False
            self._cond.notify_all()

    def set_pace(self, pace: str) -> None:
        self.pace = pace

    def start_recording(self, path: Path) -> None:
        with self._cond:
            self._record_path = Path(path)
            self._cond.notify_all()

    def stop_recording(self) -> None:
        with self._cond:
            self._record_path = None

    def stop(self, graceful: bool = False) -> None:
        """End after the frame being read. ``graceful`` lets the consumer finish the frames queued and
        flush its last events; otherwise what is queued is discarded."""
        self._graceful = graceful
        self._stop_event.set()
        self._release.set()
        with self._cond:
            self._cond.notify_all()
        if self.queue is not None:
            if graceful and not self.stop_at_end:
                return  # the END marker put on the way out ends the consumer's source
            self.queue.close(discard=not graceful)

    @property
    def stopped(self) -> bool:
        return self._stop_event.is_set()

    # --- the thread ---------------------------------------------------------------------------------
    def run(self) -> None:
        source = self.source
        if source is None:
            from frl_core.io.sources import open_source

            try:
                source = (self.source_factory or open_source)(self.spec, self.fps_override)
            except SourceError as err:
                self.listener.open_failed(self, str(err))
                return
            except Exception as err:  # an OpenCV or OS failure the source did not wrap: still a message
                self.listener.open_failed(self, f"cannot open {self.spec}: {err}")
                return
            self.source = source
        if self.drop is None:
            self.drop = bool(source.is_live)
        try:
            self.info = SourceInfo(self.spec, source.name, float(source.fps), source.frame_count,
                                   bool(source.is_live), source.frame_size,
                                   getattr(source, "fps_origin", "source"), bool(getattr(source, "variable_rate", False)))
            self.listener.opened(self, self.info)
            self._release.wait()
            if self.queue is not None and not self._stop_event.is_set():
                self._loop(source)
            if not self.stop_at_end and self.queue is not None and source.is_live \
                    and (self._graceful or not self._stop_event.is_set()):
                self.queue.put(END, drop=True)
        finally:
            self._close_recorder()
            if self.stop_at_end and self.queue is not None:
                self.queue.close()
            if self._owns_source:
                source.close()

    def _next_command(self) -> tuple[int | None, bool]:
        """Wait until there is something to do; returns (seek index or None, read a frame?)."""
        with self._cond:
            while not self._stop_event.is_set():
                if self._seek_to is not None:
                    seek, self._seek_to = self._seek_to, None
                    return seek, True
                if self._playing:
                    return None, True
                if self._steps:
                    self._steps -= 1
                    return None, True
                self._cond.wait(0.05)
        return None, False

    def _loop(self, source: FrameSource) -> None:
        pace_origin: tuple[float, int] | None = None
        while not self._stop_event.is_set():
            if self.max_frames is not None and self.captured >= self.max_frames:
                break
            seek, read = self._next_command()
            if not read:
                break
            if seek is not None:
                if source.is_live:
                    continue
                try:
                    source.seek(seek)
                except SourceError as err:
                    self.listener.failed(self, str(err))
                    continue
                pace_origin = None
            elif self._at_end:
                with self._cond:
                    self._playing = False
                continue
            index = source.position
            try:
                item = source.read()
            except SourceError as err:
                self.error = str(err)
                self.listener.failed(self, str(err))
                if source.is_live or self.stop_at_end:
                    break
                continue
            if item is None:
                if self.stop_at_end:
                    break
                with self._cond:
                    self._at_end, self._playing = True, False
                self.queue.put(END, drop=False, stop=self._stop_event)
                self.listener.ended(self)
                continue
            timestamp, frame = item
            self.captured += 1
            self._report_frame_files(source)
            self.rate_in.tick()
            self._record(frame, source.fps)
            pace_origin = self._pace(source, index, pace_origin)
            gray = None if index in self.analysed else gray_copy(frame)
            if not self.queue.put(FrameItem(index, timestamp, frame, gray), drop=self.drop, stop=self._stop_event):
                break

    def _report_frame_files(self, source: FrameSource) -> None:
        """Tell the listener of each frame file the source could not decode, once, and of the first frame
        whose size differs from the first's."""
        unreadable = getattr(source, "unreadable", ())
        if len(unreadable) > self._unreadable_reported:
            new = unreadable[self._unreadable_reported:]
            self._unreadable_reported = len(unreadable)
            self.listener.notice(self, f"{', '.join(p.name for p in new[:3])}{' …' if len(new) > 3 else ''} could "
                                       f"not be decoded: the readable frame before {'them' if len(new) > 1 else 'it'} "
                                       "stands in, so later frames keep their times")
        damaged = getattr(source, "damaged", ())
        if len(damaged) > self._damaged_reported:
            self._damaged_reported = len(damaged)
            self.listener.notice(self, damaged_message(source))
        other_size = getattr(source, "other_size", ())
        if other_size and not self._other_size_reported:
            self._other_size_reported = True
            self.listener.notice(self, other_size_message(source))

    def _pace(self, source: FrameSource, index: int, origin: tuple[float, int] | None) -> tuple[float, int] | None:
        """Wait until a recorded frame is due when pacing at 1x or replaying analysed frames."""
        if source.is_live or not self._playing or not (self.pace == "1x" or index in self.analysed):
            return None
        if origin is None:
            origin = (time.monotonic(), index)
        delay = origin[0] + (index - origin[1]) / max(source.fps, 1e-3) - time.monotonic()
        if delay > 0:
            self._stop_event.wait(min(delay, 1.0))
        return origin

    def _record(self, frame: np.ndarray, fps: float) -> None:
        path = self._record_path
        if path is None:
            if self._recorder is not None:
                self._close_recorder()
            return
        if self._recorder is None:
            from frl_core.io.exports import VIDEO_FOURCC

            fourcc = VIDEO_FOURCC.get(path.suffix.lower(), "mp4v")
            path.parent.mkdir(parents=True, exist_ok=True)
            writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps,
                                     (frame.shape[1], frame.shape[0]))
            if not writer.isOpened():
                self._record_path = None
                self.listener.recording_failed(self, f"cannot record to {path}")
                return
            self._recorder = writer
        self._recorder.write(frame)

    def _close_recorder(self) -> None:
        if self._recorder is not None:
            self._recorder.release()
            self._recorder = None


@dataclass
class LiveStats:
    captured: int = 0
    processed: int = 0
    dropped: int = 0
    capture_fps: float = 0.0
    processed_fps: float = 0.0


def drain(queue: FrameQueue, stopped: threading.Event) -> Iterator[Any]:
    """The queue's items as they come, until it is closed and empty or ``stopped`` is set."""
    while not stopped.is_set():
        item = queue.get(timeout=0.25)
        if item is None:
            if queue.closed and len(queue) == 0:
                return
            continue
        yield item


class FaceStageThread(threading.Thread):
    """Runs :meth:`AnalysisEngine.observe` on captured frames, one frame ahead of the spotting stage.

    The landmark model and the spotter's block motion run without the GIL, so on two cores the face
    stage of one frame overlaps the spotting of the previous one. Items in: :class:`FrameItem`; out:
    ``(index, frame, observation)``; an exception ends the thread with it in ``error`` and closes the queue.
    """

    def __init__(self, engine: AnalysisEngine, frames: FrameQueue, out: FrameQueue,
                 stopped: threading.Event) -> None:
        super().__init__(name="face-stage", daemon=True)
        self.engine, self.frames, self.out, self.stopped = engine, frames, out, stopped
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            for item in drain(self.frames, self.stopped):
                observation = self.engine.observe(item.timestamp, item.frame, item.gray)
                if not self.out.put((item.index, item.frame, observation), drop=False):
                    return
        except BaseException as err:  # re-raised by the consumer, in its thread
            self.error = err
        finally:
            self.out.close()


class LiveRunner:
    """Source -> capture thread -> bounded queue -> engine, so analysis never lags behind live input.

    ``run(on_frame)`` consumes in the calling thread (the CLI's main thread, the GUI's worker thread)
    and returns every event found, the final flush included; ``stop()`` may be called from any thread
    and ends ``run`` within one frame. Counters are in ``stats()``: captured, processed, dropped.

    With ``pipeline`` (the default, for engines that have ``observe``/``advance``) the face stage runs
    in a third thread, ahead of spotting. On live input (frames dropped when analysis falls behind) it
    hands over through a one-slot queue, so a frame waits at most about two analysis steps more; on
    recorded input, where only throughput counts, through a few slots (``RECORDED_HANDOVER``), so the
    two stages wait less on each other's slow frames (an event's recognition, a re-detection).
    Frames are still dropped only at the capture queue, when both stages together fall behind the source.
    """

    RECORDED_HANDOVER = 4
    """Observations the face stage may run ahead of spotting on recorded input (more slots let the two
    stages wait less on each other's slow frames; docs/figures.md has the measurement)."""

    def __init__(self, source: FrameSource, engine: AnalysisEngine, drop: bool | None = None,
                 queue_size: int = 1, max_frames: int | None = None, pipeline: bool = True) -> None:
        self.source = source
        self.engine = engine
        self.queue = FrameQueue(queue_size)
        self.capture = CaptureThread(source, self.queue, drop=drop, max_frames=max_frames)
        self.pipeline = bool(pipeline) and hasattr(engine, "observe") and hasattr(engine, "advance")
        self.processed = 0
        self._t0: float | None = None
        self._stopped = threading.Event()

    @property
    def error(self) -> str | None:
        """The capture error that ended the run (e.g. camera unplugged), if any."""
        return self.capture.error

    def _start(self) -> None:
        if not self.capture.is_alive() and self._t0 is None:
            self._t0 = time.monotonic()
            self.capture.start()

    def frames(self) -> Iterator[FrameItem]:
        """The captured frames as the consumer can take them; ends with the input."""
        self._start()
        yield from drain(self.queue, self._stopped)

    def _analysed(self) -> Iterator[tuple[np.ndarray, FrameResult, list[Event]]]:
        if not self.pipeline:
            for item in self.frames():
                yield (item.frame, *self.engine.process(item.timestamp, item.frame, item.gray))
            return
        observed = FrameQueue(1 if self.capture.drop else self.RECORDED_HANDOVER)
        stage = FaceStageThread(self.engine, self.queue, observed, self._stopped)
        self._start()
        stage.start()
        try:
            for _position, frame, observation in drain(observed, self._stopped):
                yield (frame, *self.engine.advance(observation))
        finally:
            observed.close()
            stage.join(timeout=2.0)
        if stage.error is not None:
            raise stage.error

    def run(self, on_frame: FrameCallback | None = None, on_events: EventsCallback | None = None) -> list[Event]:
        """Analyse until the input ends or ``stop()``; callbacks as in :func:`analyse_source`."""
        found: list[Event] = []
        try:
            for frame, result, events in self._analysed():
                self.processed += 1
                if on_frame is not None:
                    on_frame(frame, result, events)
                if events:
                    found += events
                    if on_events is not None:
                        on_events(events)
        finally:
            self.stop()
            self.capture.join(timeout=2.0)
        tail = self.engine.flush()
        if tail and on_events is not None:
            on_events(tail)
        return found + tail

    def stop(self) -> None:
        self._stopped.set()
        self.capture.stop()

    def stats(self) -> LiveStats:
        elapsed = max(time.monotonic() - self._t0, 1e-9) if self._t0 is not None else 0.0
        captured = self.capture.captured
        return LiveStats(
            captured=captured,
            processed=self.processed,
            dropped=self.queue.dropped,
            capture_fps=captured / elapsed if elapsed else 0.0,
            processed_fps=self.processed / elapsed if elapsed else 0.0,
        )
