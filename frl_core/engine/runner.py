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


class FrameQueue:
    """A bounded hand-over between a producer and a consumer thread.

    ``put(item, drop=True)`` on a full queue discards the *oldest* item and counts it in ``dropped``,
    so the consumer always gets the freshest frame (live input); ``drop=False`` waits for room
    (recorded input, where every frame matters). ``close()`` wakes everyone; ``get`` then drains what
    is left and returns None.
    """

    def __init__(self, maxsize: int = 1) -> None:
        self.maxsize = max(1, int(maxsize))
        self._items: deque = deque()
        self._cond = threading.Condition()
        self._closed = False
        self.dropped = 0
        self.put_count = 0

    def put(self, item: Any, drop: bool = True) -> bool:
        """Enqueue; return False when the queue was closed (the producer should stop)."""
        with self._cond:
            if not drop:
                while len(self._items) >= self.maxsize and not self._closed:
                    self._cond.wait()
            if self._closed:
                return False
            if len(self._items) >= self.maxsize:
                self._items.popleft()
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

    def close(self) -> None:
        with self._cond:
            self._closed = True
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


class CaptureThread(threading.Thread):
    """Reads a source as fast as it delivers into a FrameQueue; items are ``(position, timestamp, frame,
    gray)``. The grayscale copy is made here, so conversion overlaps the analysis of the previous frame.

    ``drop`` defaults to the source being live. A SourceError while reading (camera unplugged) ends the
    thread with the message in ``error``; the queue is closed either way so the consumer ends too.
    """

    def __init__(self, source: FrameSource, queue: FrameQueue, drop: bool | None = None,
                 max_frames: int | None = None) -> None:
        super().__init__(name=f"capture:{source.name}", daemon=True)
        self.source = source
        self.queue = queue
        self.drop = source.is_live if drop is None else drop
        self.max_frames = max_frames
        self.captured = 0
        self.error: str | None = None
        self._stop_event = threading.Event()

    def run(self) -> None:
        try:
            while not self._stop_event.is_set():
                if self.max_frames is not None and self.captured >= self.max_frames:
                    break
                position = self.source.position
                item = self.source.read()
                if item is None:
                    break
                self.captured += 1
                if not self.queue.put((position, item[0], item[1], gray_copy(item[1])), drop=self.drop):
                    break
        except SourceError as err:
            self.error = str(err)
        finally:
            self.queue.close()

    def stop(self) -> None:
        """Ask the thread to end after the frame it is reading (safe from any thread)."""
        self._stop_event.set()
        self.queue.close()


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
    stage of one frame overlaps the spotting of the previous one. Items out: ``(position, frame,
    observation)``; an exception ends the thread with it in ``error`` and closes the queue.
    """

    def __init__(self, engine: AnalysisEngine, frames: FrameQueue, out: FrameQueue,
                 stopped: threading.Event) -> None:
        super().__init__(name="face-stage", daemon=True)
        self.engine, self.frames, self.out, self.stopped = engine, frames, out, stopped
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            for position, timestamp, frame, gray in drain(self.frames, self.stopped):
                observation = self.engine.observe(timestamp, frame, gray)
                if not self.out.put((position, frame, observation), drop=False):
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
    """Observations the face stage may run ahead of spotting on recorded input (4: +3-5 % frames a second
    on the bench clip against 1)."""

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

    def frames(self) -> Iterator[tuple[int, float, np.ndarray, np.ndarray | None]]:
        """``(source position, timestamp, frame, gray frame or None)`` as the consumer can take them; ends
        with the input."""
        self._start()
        yield from drain(self.queue, self._stopped)

    def _analysed(self) -> Iterator[tuple[np.ndarray, FrameResult, list[Event]]]:
        if not self.pipeline:
            for _position, timestamp, frame, gray in self.frames():
                yield (frame, *self.engine.process(timestamp, frame, gray))
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
