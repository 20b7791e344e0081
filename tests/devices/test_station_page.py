"""The station page in a real headless Chromium whose camera is a fake device playing a real
face video: live quality feedback from the server, one finger captured through the local
agent's reader service and one picked as a file, then a guard enrolled end to end with an
employer, a post and on duty, so the coverage report counts them."""

from __future__ import annotations

import cv2
import numpy as np
from skimage import data
from sqlalchemy import func, select

from biometrics.models import Biometric
from devices import FolderScanner
from devices.reader_service import ReaderService
from enrollment.models import Capture, EnrollmentSession, ExceptionStatus, FingerException
from registry.models import DutyStatus, Guard
from tests.api.conftest import new_id
from tests.browser import Browser
from tests.enrollment.conftest import finger_png
from tests.helpers import auth
from tests.servers import free_port


def write_y4m(path, frames):
    """Write frames (RGB) as a 4:2:0 YUV4MPEG2 file, Chromium's fake-camera format."""
    h, w = frames[0].shape[:2]
    with open(path, "wb") as fh:
        fh.write(f"YUV4MPEG2 W{w} H{h} F10:1 Ip A1:1 C420jpeg\n".encode())
        for f in frames:
            fh.write(b"FRAME\n" + cv2.cvtColor(f, cv2.COLOR_RGB2YUV_I420).tobytes())


def test_station_page_enrols_from_the_fake_camera(keys, server, runtime, tmp_path, client):
    org = client.post("/organisations", headers=auth(keys["admin"]), json={
        "name": "津安保安服务有限公司", "org_type": "security_company", "licence_no": "TJ-L-9",
        "licence_status": "licensed", "district": "蓟州区"}).json()["id"]
    face = cv2.resize(data.astronaut(), (1024, 1024), interpolation=cv2.INTER_CUBIC)
    video = tmp_path / "face.y4m"
    write_y4m(video, [face] * 4 + [np.ascontiguousarray(face[:, ::-1])] * 4)
    fingers = []
    for pos in (2, 7):
        p = tmp_path / f"f{pos}.png"
        p.write_bytes(finger_png(10_000 + 10 * 960 + pos, 1))
        fingers.append(p)
    reader_folder = tmp_path / "reader"
    reader_folder.mkdir()
    (reader_folder / "f2.png").write_bytes(fingers[0].read_bytes())
    scanner = FolderScanner(reader_folder)
    scanner.open()
    reader = ReaderService(scanner, allow_origin=server, port=free_port()).start()
    # a session an earlier visit left open (the tab was closed before it ended)
    stale = client.post("/enrollments", headers=auth(keys["station"]), json={"guard": {
        "name": "未完成", "id_number": new_id(135), "district": "蓟州区"}}).json()["id"]
    page = Browser(("--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                    f"--use-file-for-fake-video-capture={video}"))
    try:
        page.navigate(server + "/station")
        page.eval(f"localStorage.setItem('guardid.station.open', '{stale}');"
                  f"document.getElementById('apikey').value = '{keys['station']}';"
                  "document.getElementById('name').value = '网页';"
                  f"document.getElementById('idnumber').value = '{new_id(131)}';"
                  "document.getElementById('district').value = '蓟州区';"
                  "document.getElementById('apikey').dispatchEvent(new Event('change'));"
                  "document.getElementById('start').click()")
        page.wait_for("document.getElementById('employers-status').dataset.count === '1'", 30)
        page.wait_for("document.getElementById('result').dataset.stale === 'closed'", 30)
        assert client.get(f"/enrollments/{stale}", headers=auth(keys["station"])).json()[
            "status"] == "abandoned"
        page.eval(f"document.getElementById('employer').value = '{org}';"
                  "document.getElementById('post').value = '蓟州区人民医院'")
        assert page.eval("document.getElementById('duty').value") == "on_duty"
        page.wait_for("document.getElementById('feedback').dataset.passed === 'true'", 60)
        page.eval(f"document.getElementById('agent').value = '{reader.url}';"
                  "document.getElementById('capture2').click()")
        state = page.wait_for("['captured', 'error'].includes("
                              "document.getElementById('fstatus2').dataset.state) && "
                              "document.getElementById('fstatus2').dataset.state", 30)
        assert state == "captured", page.eval("document.getElementById('fstatus2').textContent")
        # a reader agent that is not running is said in words, not "Failed to fetch"
        page.eval(f"document.getElementById('agent').value = 'http://127.0.0.1:{free_port()}';"
                  "document.getElementById('capture7').click()")
        page.wait_for("document.getElementById('fstatus7').dataset.state === 'error'", 30)
        assert "无法连接本机指纹仪代理" in page.eval(
            "document.getElementById('fstatus7').textContent")
        page.set_files("#finger7", [fingers[1]])
        page.eval("document.getElementById('enrol').click()")
        status = page.wait_for("document.getElementById('result').dataset.status", 60)
        page.eval("document.getElementById('result').scrollIntoView()")
        page.screenshot("station-page.png")
        assert status == "committed", page.eval("document.getElementById('result').textContent")
        assert page.eval("document.getElementById('result').textContent").startswith(
            "已登记：保安员 ")  # what happened, in words
        # the next person: another finger position picked, a finger that cannot be given
        # recorded as an exception, and the same face: a possible duplicate, said in words
        other = tmp_path / "other3.png"
        other.write_bytes(finger_png(10_000 + 10 * 963 + 2, 1))  # another man's finger
        page.eval("document.getElementById('name').value = '网页二';"
                  f"document.getElementById('idnumber').value = '{new_id(132)}';"
                  "document.getElementById('position2').value = '3';"
                  "document.getElementById('exc-position').value = '7';"
                  "document.getElementById('exc-reason').value = 'injured';"
                  "document.getElementById('result').dataset.status = ''")
        page.set_files("#finger2", [other])
        page.eval("document.getElementById('enrol').click()")
        status = page.wait_for("document.getElementById('result').dataset.status", 60)
        text = page.eval("document.getElementById('result').textContent")
        page.eval("document.getElementById('result').scrollIntoView()")
        page.screenshot("station-page-duplicate.png")
        assert status == "review", text
        assert text.startswith("可能与保安员 ") and "已开启复核案件" in text and \
            "主管决定前该保安员不会被登记" in text
    finally:
        page.close()
        reader.stop()
    with runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Biometric)) == 3
        first, second = s.scalars(select(Guard).where(Guard.name != "未完成")
                                  .order_by(Guard.id))
        (exc,) = s.scalars(select(FingerException))
        assert (exc.guard_id, exc.position, exc.reason_code) == (second.id, 7, "injured")
        assert exc.status == ExceptionStatus.pending
        assert {c.position for c in s.scalars(select(Capture).join(
            EnrollmentSession, EnrollmentSession.id == Capture.session_id).where(
            Capture.modality == "finger", EnrollmentSession.guard_id == second.id))} == {3}
        guard = first
        assert guard.employer_id == org and guard.duty_status == DutyStatus.on_duty
        assert guard.post_site == "蓟州区人民医院"
    cov = client.get("/reports/coverage", headers=auth(keys["police"])).json()
    # the second guard, waiting for the review, is on duty and counted as not yet collected
    assert cov["total"]["on_duty"] == 2 and cov["total"]["both"] == 1
    assert [m["name"] for m in cov["missing"]] == ["网页二"]
