"""Frame sources: natural order of dataset frame folders, fps override, clear errors on bad input."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from frl_core.io.sources import SourceError, natural_key, open_source


def _write_frames(folder: Path, names: list[str], size=(32, 24)) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        # Each frame's brightness encodes the number in its name, so the read order is visible.
        value = int("".join(c for c in Path(name).stem if c.isdigit()) or 0)
        cv2.imwrite(str(folder / name), np.full((size[1], size[0], 3), value, np.uint8))


def test_natural_key_orders_numbers_by_value():
    names = ["img10.jpg", "img2.jpg", "img1.jpg", "reg_img100.jpg", "img21.jpg"]
    assert sorted(names, key=natural_key) == ["img1.jpg", "img2.jpg", "img10.jpg", "img21.jpg", "reg_img100.jpg"]


def test_casme_style_folder_is_read_in_natural_order(tmp_path):
    names = [f"img{i}.png" for i in (1, 2, 3, 9, 10, 11, 100)]
    _write_frames(tmp_path / "sub01_EP02", list(reversed(names)))
    (tmp_path / "sub01_EP02" / "notes.txt").write_text("not a frame")
    source = open_source(tmp_path / "sub01_EP02", fps_override=200)
    values = [int(frame[0, 0, 0]) for _, frame in source]
    assert values == [1, 2, 3, 9, 10, 11, 100]
    assert source.frame_count == 7 and source.fps == 200 and not source.is_live


def test_folder_timestamps_follow_fps_and_seek(tmp_path):
    _write_frames(tmp_path, [f"{i:03d}.png" for i in range(1, 6)])
    source = open_source(str(tmp_path), fps_override=50)
    source.seek(3)
    t, frame = source.read()
    assert t == pytest.approx(3 / 50) and int(frame[0, 0, 0]) == 4


def test_video_file_reads_all_frames_with_override(tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (64, 48))
    for i in range(12):
        writer.write(np.full((48, 64, 3), i * 20, np.uint8))
    writer.release()
    source = open_source(path)
    assert source.fps == pytest.approx(25) and source.frame_size == (64, 48)
    frames = list(source)
    assert len(frames) == 12
    assert [round(float(f.mean()) / 20) for _, f in frames] == list(range(12))
    source.seek(5)
    assert round(float(source.read()[1].mean()) / 20) == 5
    lying = open_source(path, fps_override=100)
    lying.read()
    assert lying.read()[0] == pytest.approx(0.01)


def test_real_casme_sequence_opens(data_root):
    source = open_source(data_root / "sequences" / "casme2_sub_clip_resampled")
    assert source.frame_count == 10
    assert source.read()[1].ndim == 3


def test_missing_path_message(tmp_path):
    with pytest.raises(SourceError, match="no such file or folder"):
        open_source(tmp_path / "nope.mp4")


def test_unreadable_video_message(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"this is not a video" * 100)
    with pytest.raises(SourceError, match="cannot read video") as info:
        open_source(bad)
    assert "\n" not in str(info.value)


def test_empty_folder_message(tmp_path):
    with pytest.raises(SourceError, match="holds no images"):
        open_source(tmp_path)


def test_dataset_root_points_to_its_sequence_folders(tmp_path):
    _write_frames(tmp_path / "sub01" / "EP02_01", ["img1.jpg"])
    with pytest.raises(SourceError, match="sequence folders"):
        open_source(tmp_path / "sub01")


def test_no_camera_message():
    with pytest.raises(SourceError, match="camera"):
        open_source(97)


def test_fps_override_must_be_plausible(tmp_path):
    _write_frames(tmp_path, ["1.png"])
    with pytest.raises(SourceError, match="frame rate"):
        open_source(tmp_path, fps_override=0)


def test_a_source_turned_clockwise_gives_turned_frames_and_size(tmp_path):
    """A sideways camera or a video whose rotation flag was lost: every frame comes out turned, the size
    swaps, and seeking, the frame rate and a folder's file names are the inner source's."""
    for k in (1, 2, 3):
        frame = np.zeros((24, 32, 3), np.uint8)
        frame[:4, :8] = 50 * k  # a bright top-left corner: turned clockwise it is the top-right one
        cv2.imwrite(str(tmp_path / f"{k}.png"), frame)
    plain = open_source(tmp_path, fps_override=10)
    turned = open_source(tmp_path, fps_override=10, rotate=90)
    assert plain.frame_size == (32, 24) and turned.frame_size == (24, 32)
    assert turned.fps == 10 and turned.frame_count == 3 and [p.name for p in turned.files] == ["1.png", "2.png", "3.png"]
    turned.seek(2)
    t, frame = turned.read()
    plain.seek(2)
    _, upright = plain.read()
    assert t == pytest.approx(0.2) and turned.position == 3
    assert np.array_equal(frame, cv2.rotate(upright, cv2.ROTATE_90_CLOCKWISE))
    assert frame[:8, -4:].min() == 150 and frame[:, :-4].max() == 0
    assert open_source(tmp_path, rotate=180).frame_size == (32, 24)


def test_a_rotation_other_than_quarter_turns_is_a_message(tmp_path):
    _write_frames(tmp_path, ["1.png"])
    with pytest.raises(SourceError, match="rotation must be one of 0, 90, 180, 270"):
        open_source(tmp_path, rotate=45)


@pytest.mark.skipif(__import__("frl_core.synth.labelled", fromlist=["x"]).ffmpeg_executable() is None,
                    reason="needs ffmpeg or imageio-ffmpeg")
def test_a_variable_frame_rate_file_is_resampled_to_the_clock(tmp_path):
    """A phone in dim light halves its frame rate mid-recording: the file's average rate is then neither, and
    frames counted at it put every later event at the wrong time. Read by the frames' own timestamps, each
    output frame is the one shown at its index's time; a constant-rate file is read frame for frame."""
    import subprocess

    from frl_core.synth.labelled import ffmpeg_executable

    cfr = tmp_path / "cfr.avi"
    writer = cv2.VideoWriter(str(cfr), cv2.VideoWriter_fourcc(*"MJPG"), 30, (64, 48))
    for k in range(120):
        writer.write(np.full((48, 64, 3), 2 * k, np.uint8))  # the frame's index in its brightness
    writer.release()
    ffmpeg = ffmpeg_executable()
    vfr, plain = tmp_path / "vfr.mp4", tmp_path / "plain.mp4"
    common = ["-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv444p", "-loglevel", "error", "-y"]
    subprocess.run([ffmpeg, "-i", str(cfr), "-vf", r"select=lt(n\,60)+eq(mod(n\,2)\,0)", "-fps_mode", "vfr",
                    *common, str(vfr)], check=True)
    subprocess.run([ffmpeg, "-i", str(cfr), *common, str(plain)], check=True)

    def frames(path):
        source = open_source(path)
        out = [(t, int(round(f.mean() / 2))) for t, f in source]
        return source, out

    source, out = frames(vfr)
    assert source.variable_rate and source.fps == 30 and source.reported_fps < 25
    assert 118 <= len(out) <= 120
    assert all(abs(shown - k) <= 1 for k, (_, shown) in enumerate(out))
    assert out[100][0] == pytest.approx(100 / 30)
    source, out = frames(plain)
    assert not source.variable_rate and [shown for _, shown in out] == list(range(120))


def test_a_damaged_frame_file_is_stood_in_for_by_the_frame_before_and_named(tmp_path):
    _write_frames(tmp_path, [f"img{i}.png" for i in range(1, 9)])
    (tmp_path / "img1.png").write_bytes(b"a damaged copy")
    (tmp_path / "img5.png").write_bytes(b"a damaged copy")
    (tmp_path / "img6.png").write_bytes(b"")
    source = open_source(tmp_path, fps_override=100)
    read = list(source)
    # every index keeps its time; a damaged frame shows the nearest readable one before it (after it at the start)
    assert [t for t, _ in read] == pytest.approx([i / 100 for i in range(8)])
    assert [int(f[0, 0, 0]) for _, f in read] == [2, 2, 3, 4, 4, 4, 7, 8]
    assert [p.name for p in source.unreadable] == ["img1.png", "img5.png", "img6.png"]
    assert source.frame_size == (32, 24)


def test_a_stood_in_frame_is_not_the_one_a_consumer_drew_on(tmp_path):
    _write_frames(tmp_path, ["img1.png", "img2.png", "img3.png"])
    (tmp_path / "img3.png").write_bytes(b"damaged")
    source = open_source(tmp_path)
    source.read()
    _, second = source.read()
    second[:] = 255
    _, stand_in = source.read()
    assert int(stand_in[0, 0, 0]) == 2


def test_a_folder_of_damaged_images_and_a_damaged_single_image_are_messages(tmp_path):
    for name in ("a.jpg", "b.jpg"):
        (tmp_path / name).write_bytes(b"not a jpeg")
    with pytest.raises(SourceError, match="none of its 2 image files"):
        open_source(tmp_path)
    with pytest.raises(SourceError, match="cannot read image"):
        open_source(tmp_path / "a.jpg")


def test_frames_of_another_size_are_read_as_they_are_and_named(tmp_path):
    _write_frames(tmp_path, ["img1.png", "img2.png", "img4.png"])
    _write_frames(tmp_path, ["img3.png"], size=(16, 12))
    source = open_source(tmp_path)
    shapes = [f.shape[:2] for _, f in source]
    assert shapes == [(24, 32), (24, 32), (12, 16), (24, 32)]
    assert [p.name for p in source.other_size] == ["img3.png"] and source.unreadable == []


def _damaged_mp4(path: Path, frames: int = 60) -> list[np.ndarray]:
    """An mp4v file with a stretch of its bytes overwritten a little before the middle, and its frames as written."""
    rng = np.random.default_rng(0)
    base = cv2.resize(rng.integers(0, 255, (12, 16, 3), dtype=np.uint8), (160, 120))
    written = []
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30, (160, 120))
    for i in range(frames):
        frame = np.roll(base, i, axis=1).copy()
        cv2.putText(frame, str(i), (10, 60), 0, 1, (255, 255, 255), 2)
        writer.write(frame)
        written.append(frame)
    writer.release()
    data = bytearray(path.read_bytes())
    start, size = int(len(data) * 0.45), len(data) // 20
    data[start:start + size] = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    return written


def test_a_video_is_read_on_past_a_damaged_stretch_and_later_frames_keep_their_times(tmp_path):
    from frl_core.engine.cli import _frame_file_warnings

    written = _damaged_mp4(tmp_path / "damaged.mp4")
    source = open_source(tmp_path / "damaged.mp4")
    read = list(source)
    # before, reading stopped at the damage and the rest of the file was lost
    assert len(read) == 60 and [t for t, _ in read] == pytest.approx([i / 30 for i in range(60)])
    assert source.damaged and 15 <= source.damaged[0] and source.damaged[-1] <= 45
    assert source.damaged == list(range(source.damaged[0], source.damaged[0] + len(source.damaged)))
    # the last frame is the last frame written, at its own time
    assert float(np.abs(read[-1][1].astype(float) - written[-1]).mean()) < 8
    warning = " ".join(_frame_file_warnings(source))
    assert f"could not be decoded (from frame {source.damaged[0]})" in warning
