"""Exam-site identity checks through the API: the candidate passes, a stand-in enrolled
under another name is caught, an unknown face is a mismatch, results are kept per exam."""

from __future__ import annotations

import pytest

from tests.enrollment.conftest import submit_fingers
from tests.enrollment.test_enrollment_api import face, open_for
from tests.helpers import auth


def enrol(client, st, seq, photo) -> int:
    s = open_for(client, st, seq)
    if photo is not None:
        assert face(client, st, s["id"], photo).json()["passed"]
        submit_fingers(client, st, s["id"], seq)
        assert client.post(f"/enrollments/{s['id']}/commit",
                           headers=auth(st)).json()["status"] == "committed"
    return s["guard_id"]


def exam(client, keys, guards) -> int:
    r = client.post("/exams", headers=auth(keys["admin"]), json={
        "name": "2026年第4期保安员考试", "site": "蓟州区考点", "district": "蓟州区",
        "exam_date": "2026-11-28"})
    assert r.status_code == 201, r.text
    eid = r.json()["id"]
    reg = client.post(f"/exams/{eid}/candidates", headers=auth(keys["station"]),
                      json={"guard_ids": guards})
    assert reg.status_code == 200 and reg.json()["guard_ids"] == sorted(guards)
    return eid


def door(client, keys, eid, gid, photo):
    return client.post(f"/exams/{eid}/checks", headers=auth(keys["station"]),
                       data={"guard_id": str(gid)}, files={"face": ("d.jpg", photo)})


def test_candidate_passes_and_stand_in_is_caught(client, keys, face_jpeg):
    st = keys["station"]
    a = enrol(client, st, 41, face_jpeg)
    b = enrol(client, st, 43, None)  # registered for the exam, never enrolled
    eid = exam(client, keys, [a, b])
    ok = door(client, keys, eid, a, face_jpeg).json()
    assert ok["result"] == "passed" and ok["face_score"] > 0.95 and ok["others"] == []
    caught = door(client, keys, eid, b, face_jpeg).json()
    assert caught["result"] == "stand_in" and caught["others"][0]["guard_id"] == a
    results = client.get(f"/exams/{eid}", headers=auth(keys["police"])).json()
    assert results["counts"] == {"passed": 1, "stand_in": 1}
    assert [c["result"] for c in results["candidates"]] == ["passed", "stand_in"]
    outsider = enrol(client, st, 47, None)
    r = door(client, keys, eid, outsider, face_jpeg)
    assert r.status_code == 404 and "not registered" in r.json()["message"]
    again = client.post(f"/exams/{eid}/candidates", headers=auth(st), json={"guard_ids": [a]})
    assert again.json()["guard_ids"] == sorted([a, b])


def test_unknown_face_is_a_mismatch(client, keys, datasets):
    sample = datasets / "faces" / "samples"
    if not (sample / "obama.jpg").exists():
        pytest.skip("sample photos not present")
    st = keys["station"]
    c = enrol(client, st, 49, (sample / "obama.jpg").read_bytes())
    eid = exam(client, keys, [c])
    same = door(client, keys, eid, c, (sample / "obama-720p.jpg").read_bytes()).json()
    assert same["result"] == "passed"
    import cv2
    from skimage import data

    from tests.enrollment.conftest import jpeg

    other = jpeg(cv2.resize(data.astronaut(), (1024, 1024), interpolation=cv2.INTER_CUBIC))
    r = door(client, keys, eid, c, other).json()
    assert r["result"] == "mismatch" and r["face_score"] < 0.9 and r["others"] == []
