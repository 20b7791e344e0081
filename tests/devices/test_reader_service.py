"""The station's local reader service: the impression served as PNG to the one allowed page
origin, device errors as clear codes, every other origin refused; and its CLI."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest

from devices import FolderScanner
from devices.reader_service import ReaderService
from fixtures.synthetic_fingers import impression, master_print
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
PAGE = "http://127.0.0.1:8000"


@pytest.fixture(scope="module")
def print_folder(tmp_path_factory) -> tuple[Path, np.ndarray]:
    folder = tmp_path_factory.mktemp("reader")
    img = impression(master_print(4_242), 1)
    cv2.imwrite(str(folder / "a.png"), img)
    return folder, img


@pytest.fixture
def service(print_folder):
    scanner = FolderScanner(print_folder[0])
    scanner.open()
    svc = ReaderService(scanner, allow_origin=PAGE + "/", port=free_port()).start()
    yield svc
    svc.stop()


def test_capture_returns_the_readers_pixels_to_the_allowed_page(service, print_folder):
    r = httpx.post(service.url + "/capture?timeout=2", headers={"Origin": PAGE})
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    assert r.headers["access-control-allow-origin"] == PAGE
    assert r.headers["x-resolution-ppi"] == "500"
    got = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert np.array_equal(got, print_folder[1])
    status = httpx.get(service.url + "/", headers={"Origin": PAGE}).json()
    assert status == {"reader": "FolderScanner", "resolution_ppi": 500}


def test_other_origins_are_refused(service):
    r = httpx.post(service.url + "/capture", headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    assert r.json()["code"] == "origin_not_allowed"
    assert "access-control-allow-origin" not in r.headers
    pre = httpx.options(service.url + "/capture", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 403
    ok = httpx.options(service.url + "/capture", headers={
        "Origin": PAGE, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Private-Network": "true"})
    assert ok.status_code == 204
    assert ok.headers["access-control-allow-private-network"] == "true"
    assert ok.headers["access-control-allow-origin"] == PAGE


def test_device_errors_and_bad_requests_are_clear(service, tmp_path):
    assert httpx.post(service.url + "/capture?timeout=soon",
                      headers={"Origin": PAGE}).json()["code"] == "bad_timeout"
    assert httpx.post(service.url + "/nothing").status_code == 404
    service.scanner.close()  # unplugged
    r = httpx.post(service.url + "/capture", headers={"Origin": PAGE})
    assert (r.status_code, r.json()["code"]) == (503, "device_not_connected")
    (tmp_path / "broken.png").write_bytes(b"not a png")
    service.scanner = FolderScanner(tmp_path)
    service.scanner.open()
    r = httpx.post(service.url + "/capture?timeout=0.5", headers={"Origin": PAGE})
    assert (r.status_code, r.json()["code"]) == (408, "capture_timeout")


def test_a_wildcard_origin_is_refused(print_folder):
    with pytest.raises(ValueError, match="origin"):
        ReaderService(FolderScanner(print_folder[0]), allow_origin="*", port=0)


def test_station_reader_command(print_folder):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "station", "reader", "--server",
                             PAGE + "/station", "--scanner-folder", str(print_folder[0]),
                             "--port", str(port)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.post(f"http://127.0.0.1:{port}/capture", headers={"Origin": PAGE})
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, \
                    proc.stdout.read().decode() if proc.stdout else ""
                time.sleep(0.2)
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == PAGE
    finally:
        proc.terminate()
        proc.wait(timeout=10)
