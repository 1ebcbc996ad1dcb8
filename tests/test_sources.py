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
