"""``python main.py bench ui``: how long the GUI event loop stalls while the app analyses the demo clip.

A 5 ms QTimer runs in the GUI thread while the real main window analyses a video at full speed; the
difference between when each tick was due and when it ran is the event-loop delay a user feels as lag.
Reports mean, p50, p99 and max; the target is under 50 ms.
"""

from __future__ import annotations

import argparse
import os
import time


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--video", help="video to analyse (default: the bundled demo clip)")
    parser.add_argument("--timeout", type=float, default=300.0, help="give up after this many seconds")
    parser.add_argument("--tick-ms", type=int, default=5, help="period of the probe timer in milliseconds")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), help="device for the model (default: settings)")


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import numpy as np
    from PySide6.QtCore import QElapsedTimer, QSettings, Qt, QTemporaryDir, QTimer
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow, demo_clip_path
    from app.pipeline import load_recognizer, preload, reserve_gui_core
    from frl_core.engine.warmup import WarmUp
    from app.settings import AppSettings

    video = args.video or str(demo_clip_path())
    if not os.path.exists(video):
        print(f"bench ui: no video at {video} (pass --video PATH)")
        return 2
    app = QApplication.instance() or QApplication([])
    tmp = QTemporaryDir()
    settings = AppSettings.load(QSettings(os.path.join(tmp.path(), "bench.ini"), QSettings.Format.IniFormat))
    if args.device:
        settings.device = args.device
    t_warm = time.monotonic()
    reserve_gui_core()
    warm = WarmUp(settings.weights or None, settings.device, load_recognizer).run()
    if warm.recognizer is not None:
        preload(settings.model_key(), warm.recognizer, warm.model_info)
    warm_s = time.monotonic() - t_warm
    window = MainWindow(settings=settings, probe_cameras=False)
    window.resize(1400, 900)
    window.show()

    delays: list[float] = []
    idle: list[float] = []
    state = {"t0": None, "t1": None, "idle": False}
    clock = QElapsedTimer()
    clock.start()
    last = [clock.nsecsElapsed()]
    period_ns = args.tick_ms * 1_000_000
    measuring = [False]

    def tick() -> None:
        now = clock.nsecsElapsed()
        delay = max(0.0, (now - last[0] - period_ns) / 1e6)
        if measuring[0]:
            delays.append(delay)
        elif state["t0"] is None and state["idle"]:
            idle.append(delay)
        last[0] = now

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(args.tick_ms)
    timer.timeout.connect(tick)
    timer.start()


    def started(_info) -> None:
        state["t0"] = time.monotonic()

    def first_results(_results) -> None:
        if not measuring[0] and state["t1"] is None:
            measuring[0] = True
            last[0] = clock.nsecsElapsed()

    def finished() -> None:
        state["t1"] = time.monotonic()
        measuring[0] = False
        app.quit()

    window.pipeline.source_opened.connect(started)
    window.pipeline.analysis_finished.connect(finished)
    window.pipeline.results.connect(first_results)
    window.pipeline.source_failed.connect(lambda msg: (print(f"bench ui: {msg}"), app.quit()))
    QTimer.singleShot(int(args.timeout * 1000), app.quit)
    # Let the window settle, then measure it idle for 3 s (what the machine's own load costs), then analyse.
    QTimer.singleShot(1000, lambda: state.update(idle=True))
    QTimer.singleShot(4000, lambda: window.open_spec(video))
    app.exec()
    timer.stop()
    if state["t0"] is None or state["t1"] is None:
        window.close()
        print("bench ui: the analysis did not finish in time")
        return 1
    elapsed = state["t1"] - state["t0"]
    frames = window.results.frame_count()
    events = len(window.results.events)
    window.close()
    app.processEvents()
    if not delays:
        print("bench ui: the analysis ended before any measurement")
        return 1
    d = np.asarray(delays)
    print(f"bench ui: {os.path.basename(video)}  frames analysed {frames}  events {events}  "
          f"in {elapsed:.1f} s ({frames / max(elapsed, 1e-9):.1f} fps)  device {window.pipeline.device_name}")
    b = np.asarray(idle) if idle else np.zeros(1)
    print(f"same probe with the window idle (the machine's own noise, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}): p99 {np.percentile(b, 99):.2f} ms  max {b.max():.2f} ms")
    print(f"start-up model loading (behind the splash screen, before the window runs): {warm_s:.1f} s")
    print(f"event-loop delay over {len(d)} ticks of {args.tick_ms} ms: mean {d.mean():.2f} ms  "
          f"p50 {np.percentile(d, 50):.2f} ms  p99 {np.percentile(d, 99):.2f} ms  max {d.max():.2f} ms  "
          f"(target < 50 ms: {'met' if d.max() < 50 else 'NOT met'})")
    return 0
