"""The labelled real-face benchmark's material: real faces, micro-expressions of known MEGC2019 class
with drift, roll, lighting and noise, encoded as the product sees video (mp4v, H.264, HEVC, VP9, AV1, MJPEG)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from frl_core.faces.action_units import CLASS_EXPRESSIONS as LABELLED_EXPRESSIONS
from frl_core.faces.action_units import HELD_OUT_EXPRESSIONS, MOVEMENT_SETS, VARIED_EXPRESSIONS, MovementShape
from frl_core.synth.render import (STILL, Blink, HeadMotion, Lighting, SynthError, SyntheticSequence,
                                   micro_event, render_sequence, write_video)


def labelled_sequence(face_image: np.ndarray, seed: int, fps: float = 30.0, seconds: float = 20.0,
                      n_events: int = 4, amplitude_px: tuple[float, float] = (0.5, 3.0),
                      face_height: float = 0.55, size: tuple[int, int] = (640, 480),
                      noise_scale: float = 1.0, exposure_steps: int = 0,
                      movements: str = "textbook", head_turn_deg: float = 0.0) -> SyntheticSequence:
    """Micro-expressions whose MEGC2019 class is known (the classes in turn from a random start), on a
    face that drifts, rolls and is lit unevenly, with blinks and noise. Amplitudes are drawn uniformly in
    ``amplitude_px``, in pixels of the 224-pixel aligned face (what every displacement figure uses); the
    head's drift scales with the frame's height, so a larger ``size`` is the same scene seen by a camera
    with more pixels. ``noise_scale`` multiplies the sensor noise (1: 1.5-3 grey levels; 3: a dim webcam's).
    ``exposure_steps`` adds a webcam's automatic exposure: that many steps of the gain, at random frames (on a
    movement or not), each over 4 frames at 30 fps to a gain in 1/1.2..1.2 of the first, 6 % or more from the
    last; drawn apart from the rest, so the scene is otherwise the same. ``movements`` "varied" draws each
    class's movement from the textbook ones, ``VARIED_EXPRESSIONS`` and ``HELD_OUT_EXPRESSIONS``,
    each shaped by a ``MovementShape.draw`` (width, asymmetry, direction), from a generator of its own: the
    scene, timing and amplitudes are those of "textbook". ``head_turn_deg`` turns the head in depth too: yaw and
    pitch each a sinusoid of 3.5-7 s whose amplitude is 60-100 % of it, on a face whose depths are the generic
    face's times 0.75-1.25 (drawn apart from the rest, so the scene is otherwise the same)."""
    if movements not in MOVEMENT_SETS:
        raise SynthError(f"unknown movements {movements!r}: use one of {', '.join(MOVEMENT_SETS)}")
    from frl_core.faces import alignment_matrix

    rng = np.random.default_rng(seed)
    varied = np.random.default_rng((seed, 11)) if movements == "varied" else None
    n_frames = int(round(seconds * fps))
    probe = render_sequence(face_image, fps=fps, size=size, n_frames=1, face_height=face_height,
                            head_motion=STILL, background="soft")
    m = alignment_matrix(probe.face_landmarks, 224)
    px_per_aligned = 1.0 / math.sqrt(abs(np.linalg.det(m[:, :2])))
    classes = list(LABELLED_EXPRESSIONS)
    start = int(rng.integers(len(classes)))
    gap = int(round(1.2 * fps))
    length = int(round(0.6 * fps))
    slack = n_frames - int(1.2 * fps) - int(1.0 * fps) - n_events * length - gap * max(0, n_events - 1)
    if slack < 0:
        raise SynthError(f"{n_events} events do not fit in {seconds:g} s")
    cuts = np.sort(rng.integers(0, slack + 1, n_events))
    events, cursor, prev = [], int(1.2 * fps), 0
    for k, cut in enumerate(cuts):
        cursor += int(cut - prev)
        prev = int(cut)
        cls = classes[(start + k) % len(classes)]
        options = LABELLED_EXPRESSIONS[cls]
        expression = options[int(rng.integers(len(options)))]
        shape = None
        if varied is not None:
            options = options + VARIED_EXPRESSIONS[cls] + HELD_OUT_EXPRESSIONS[cls]
            expression = options[int(varied.integers(len(options)))]
            shape = MovementShape.draw(varied)
        amplitude = float(rng.uniform(*amplitude_px)) * px_per_aligned
        events.append(micro_event(cursor, fps, expression, amplitude, rise_s=float(rng.uniform(0.12, 0.2)),
                                  fall_s=float(rng.uniform(0.15, 0.25)), shape=shape))
        cursor += length + gap
    blinks: list[Blink] = []
    for _ in range(200):
        if len(blinks) == 2:
            break
        b0 = int(rng.integers(int(0.5 * fps), n_frames - int(0.5 * fps)))
        b1 = b0 + max(2, round(0.2 * fps))
        busy = [(e.onset, e.offset) for e in events] + [(b.start, b.end) for b in blinks]
        if all(b1 + int(0.3 * fps) < lo or b0 - int(0.3 * fps) > hi for lo, hi in busy):
            blinks.append(Blink(b0, b1))
    motion = HeadMotion(translation=float(rng.uniform(2.0, 4.0)) * size[1] / 480.0, rotation_deg=float(rng.uniform(0.5, 1.5)),
                        periods_s=(float(rng.uniform(4, 7)), float(rng.uniform(2, 4))),
                        phase=tuple(rng.uniform(0, 6, 6)))
    if head_turn_deg > 0:
        turning = np.random.default_rng((seed, 13))
        motion.turn_deg = (float(head_turn_deg * turning.uniform(0.6, 1.0)), float(head_turn_deg * turning.uniform(0.6, 1.0)))
        motion.turn_periods_s = (float(turning.uniform(3.5, 7.0)), float(turning.uniform(3.5, 7.0)))
        motion.depth_scale = float(turning.uniform(0.75, 1.25))
    lighting = Lighting(gain=float(rng.uniform(0.03, 0.08)), gradient=float(rng.uniform(0.02, 0.06)),
                        period_s=float(rng.uniform(6, 10)), phase=float(rng.uniform(0, 6)),
                        exposure_steps=exposure_schedule(seed, exposure_steps, n_frames, fps))
    return render_sequence(face_image, fps=fps, size=size, events=events, seed=seed, n_frames=n_frames, blinks=blinks,
                           head_motion=motion, noise_sigma=float(rng.uniform(1.5, 3.0)) * noise_scale,
                           face_height=face_height, lighting=lighting, background="soft")


def exposure_schedule(seed: int, steps: int, n_frames: int, fps: float,
                      widest: float = 1.2) -> tuple[tuple[float, float], ...]:
    """(start in seconds, gain) of ``steps`` automatic-exposure steps, from a generator of their own."""
    if steps <= 0:
        return ()
    rng = np.random.default_rng((seed, 7))
    starts = np.sort(rng.integers(int(1.5 * fps), max(int(1.5 * fps) + 1, n_frames - int(1.3 * fps)), steps))
    out, level = [], 1.0
    for start in starts:
        while True:
            target = float(rng.uniform(1.0 / widest, widest))
            if abs(target / level - 1.0) >= 0.06:
                break
        out.append((float(start) / fps, target))
        level = target
    return tuple(out)


FFMPEG_CODECS: dict[str, tuple[str, ...]] = {
    "h264": ("-c:v", "libx264"),
    "hevc": ("-c:v", "libx265", "-x265-params", "log-level=error"),
    "vp9": ("-c:v", "libvpx-vp9", "-b:v", "0"),
    "av1": ("-c:v", "libsvtav1"),
    "mjpeg": ("-c:v", "mjpeg"),
}
"""The encodings a user's files come in besides OpenCV's own mp4v, written through ffmpeg's encoders at their
default quality (``crf`` overrides it; for mjpeg it is ffmpeg's ``-q:v``, 2-31)."""

CODECS = ("mp4v", *FFMPEG_CODECS)


def ffmpeg_executable() -> str | None:
    """ffmpeg on the PATH, else the static build of the ``imageio-ffmpeg`` wheel when it is installed (a
    pip-only way to get every encoder above); None when neither is there."""
    import shutil

    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg
    except ImportError:
        return None
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError:
        return None


def encode_video(sequence: SyntheticSequence, path: str | Path, codec: str = "mp4v",
                 crf: int | None = None) -> Path:
    """Write the frames encoded as the product sees video: ``mp4v`` (OpenCV) or one of ``FFMPEG_CODECS``
    (through ``ffmpeg_executable``; Matroska holds them all), at the encoder's default quality unless ``crf`` is given."""
    import os
    import subprocess

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if codec == "mp4v":
        if crf is not None:
            raise SynthError("mp4v has no quality setting here; crf is for the ffmpeg codecs")
        return write_video(sequence, path)
    if codec not in FFMPEG_CODECS:
        raise SynthError(f"unknown codec {codec!r}: use one of {', '.join(CODECS)}")
    ffmpeg = ffmpeg_executable()
    if ffmpeg is None:
        raise SynthError(f"{codec} needs ffmpeg (on the PATH, or `pip install imageio-ffmpeg`)")
    quality: tuple[str, ...] = ()
    if crf is not None:
        quality = ("-q:v", str(crf)) if codec == "mjpeg" else ("-crf", str(crf))
    w, h = sequence.size
    pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
    cmd = [ffmpeg, "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{w}x{h}",
           "-r", f"{sequence.fps:g}", "-i", "-", *FFMPEG_CODECS[codec], *quality, "-pix_fmt", pix_fmt, str(path)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, env={**os.environ, "SVT_LOG": "1"})
    try:
        for frame in sequence.frames:
            proc.stdin.write(np.ascontiguousarray(frame).tobytes())
    finally:
        proc.stdin.close()
        proc.wait()
    if proc.returncode != 0:
        raise SynthError(f"ffmpeg ({codec}) failed with exit code {proc.returncode}")
    return path
