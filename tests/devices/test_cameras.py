"""Cameras: OpenCV capture from a real video file with auto-capture, folder devices, errors."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from devices import FolderCamera, FolderScanner, OpenCVCamera, auto_capture
from devices.base import Camera, FingerprintScanner
from devices.exceptions import CaptureTimeout, DeviceBusy, DeviceNotConnected


def write_video(path, frames, fps=10):
    h, w = frames[0].shape[:2]
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    assert out.isOpened()
    for f in frames:
        out.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    out.release()


@pytest.fixture(scope="module")
def station_frames():
    """Eight frames of a person stepping up: far away and blurred, then sharp and close."""
    big = cv2.resize(data.astronaut(), (1024, 1024), interpolation=cv2.INTER_CUBIC)
    far = cv2.resize(cv2.resize(data.astronaut(), (256, 256)), (1024, 1024))
    blurred = cv2.GaussianBlur(big, (0, 0), 9)
    return [far, far, far, blurred, blurred, big, big, big]


def test_video_file_auto_capture_takes_the_first_passing_frame(tmp_path, station_frames,
                                                               face_engine):
    video = tmp_path / "walk-up.avi"
    write_video(video, station_frames)
    seen = []
    with OpenCVCamera(video) as cam:
        assert isinstance(cam, Camera)
        result = auto_capture(cam, face_engine, timeout_s=30, on_frame=seen.append)
    assert result.passed and result.frames_seen == 6
    assert [a.template is not None for a in seen] == [False] * 5 + [True]
    assert result.frame.shape == (1024, 1024, 3)


def test_auto_capture_without_a_passing_frame_returns_the_best_with_reasons(
        tmp_path, station_frames, face_engine):
    video = tmp_path / "blurred.avi"
    write_video(video, station_frames[:5])
    with OpenCVCamera(video) as cam:
        result = auto_capture(cam, face_engine, timeout_s=30)
    assert not result.passed and result.frames_seen == 5
    assert {r.code for r in result.analysis.verdict.reasons} & {"too_blurry", "face_too_small"}


def test_camera_errors(tmp_path):
    with pytest.raises(DeviceNotConnected):
        OpenCVCamera(tmp_path / "missing.avi").open()
    cam = OpenCVCamera(tmp_path / "missing.avi")
    with pytest.raises(DeviceNotConnected):
        cam.grab()
    empty = tmp_path / "one.avi"
    write_video(empty, [np.zeros((64, 64, 3), np.uint8)])
    with OpenCVCamera(empty) as cam:
        cam.grab()
        with pytest.raises(CaptureTimeout):
            cam.grab(timeout_s=2)  # the file has ended


def test_one_capture_at_a_time(tmp_path, station_frames):
    video = tmp_path / "v.avi"
    write_video(video, station_frames)
    with OpenCVCamera(video, loop=True) as cam:
        cam._claim()  # another capture is running
        try:
            with pytest.raises(DeviceBusy):
                cam.grab()
        finally:
            cam._release()
        assert cam.grab().shape == (1024, 1024, 3)  # free again once released


def test_folder_devices(tmp_path, station_frames):
    for i, f in enumerate(station_frames[:3]):
        cv2.imwrite(str(tmp_path / f"{i}.png"), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    (tmp_path / "notes.txt").write_text("not an image")
    with FolderCamera(tmp_path) as cam:
        frames = [cam.grab() for _ in range(4)]
    assert np.array_equal(frames[0], frames[3]) and frames[0].shape == (1024, 1024, 3)
    with FolderScanner(tmp_path, resolution_ppi=500) as scanner:
        assert isinstance(scanner, FingerprintScanner)
        assert scanner.capture().ndim == 2
    with pytest.raises(DeviceNotConnected):
        FolderCamera(tmp_path / "nope").open()
