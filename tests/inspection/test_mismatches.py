"""A biometric no-match at a post: recapture first (every attempt recorded), then a
suspected mismatch a supervisor of the district confirms or dismisses; only a confirmed one
is a violation, counted in column 15 of the campaign table; the pending ones stand beside it."""

from __future__ import annotations

import csv
import io

import cv2
import numpy as np
import pytest
from openpyxl import load_workbook

from inspection.mismatches import MAX_ATTEMPTS
from registry import apikeys
from registry.models import Role
from tests.enrollment.conftest import finger_png
from tests.helpers import auth
from tests.inspection.conftest import SITE

OWN = 10_000 + 10 * 501 + 7  # the posted guard's left index (enrolled from impression 1)


def tip_only(master: int) -> bytes:
    """The guard's own finger with only its tip on the reader: a genuine false reject."""
    img = cv2.imdecode(np.frombuffer(finger_png(master, 42), np.uint8), cv2.IMREAD_GRAYSCALE)
    return cv2.imencode(".png", img[:100])[1].tobytes()


IMPOSTOR = finger_png(10_000 + 10 * 999 + 7, 42)  # somebody else's finger


def check(client, key, posted, finger, recapture_of=None):
    data = {"certificate_number": posted.number, "site": SITE, "finger_position": "7"}
    if recapture_of is not None:
        data["recapture_of"] = str(recapture_of)
    r = client.post("/inspections/verify", headers=auth(key), data=data,
                    files={"finger": ("probe.png", finger, "image/png")})
    assert r.status_code == 200, r.text
    return r.json()


def three_failures(client, keys, posted, finger) -> dict:
    out = check(client, keys["inspector"], posted, finger)
    for _ in range(MAX_ATTEMPTS - 1):
        out = check(client, keys["inspector"], posted, finger, out["mismatch_case_id"])
    return out


def listed(client, key, **params):
    r = client.get("/mismatches", headers=auth(key), params=params)
    assert r.status_code == 200, r.text
    return r.json()


def table(client, keys, fmt="json"):
    r = client.get("/reports/campaign", headers=auth(keys["police"]), params={"format": fmt})
    assert r.status_code == 200, r.text
    return r


def test_a_false_reject_then_a_match_on_recapture_files_nothing(client, keys, posted):
    first = check(client, keys["inspector"], posted, tip_only(OWN))
    assert first["outcome"] == "no_match" and first["violation_ids"] == []
    assert first["next_step"] == f"no match, recapture (attempt 2 of {MAX_ATTEMPTS})"
    assert first["mismatch_status"] == "recapture" and first["attempt"] == 1
    second = check(client, keys["inspector"], posted, finger_png(OWN, 42),
                   first["mismatch_case_id"])
    assert second["outcome"] == "match" and second["mismatch_status"] == "cleared"
    assert second["attempt"] == 2 and second["mismatch_case_id"] == first["mismatch_case_id"]
    assert client.get("/violations", headers=auth(keys["admin"])).json()["items"] == []
    assert listed(client, keys["police"])["total"] == 0
    checks = client.get("/inspections", headers=auth(keys["admin"])).json()["items"]
    assert sorted((c["attempt"], c["outcome"]) for c in checks) == [(1, "no_match"),
                                                                    (2, "match")]
    assert table(client, keys).json()["pending_suspected_mismatches"]["count"] == 0


def test_three_failed_attempts_are_one_suspected_case_and_no_violation(client, keys, posted):
    last = three_failures(client, keys, posted, IMPOSTOR)
    assert last["mismatch_status"] == "suspected" and last["attempt"] == MAX_ATTEMPTS
    assert "suspected mismatch" in last["next_step"] and last["violation_ids"] == []
    assert client.get("/violations", headers=auth(keys["admin"])).json()["items"] == []
    more = client.post("/inspections/verify", headers=auth(keys["inspector"]),
                       data={"certificate_number": posted.number,
                             "recapture_of": str(last["mismatch_case_id"])},
                       files={"finger": ("p.png", IMPOSTOR, "image/png")})
    assert more.status_code == 409 and more.json()["code"] == "recapture_refused"
    (case,) = listed(client, keys["police"])["items"]
    assert case["status"] == "suspected" and case["attempts"] == MAX_ATTEMPTS
    assert [p["attempt"] for p in case["probes"]] == [1, 2, 3]
    probe = client.get(case["probes"][0]["image"], headers=auth(keys["police"]))
    assert probe.status_code == 200 and probe.content == IMPOSTOR
    assert {e["modality"] for e in case["enrolled"]} == {"finger"}
    enrolled = client.get(case["enrolled"][0]["image"], headers=auth(keys["police"]))
    assert enrolled.status_code == 200 and enrolled.headers["content-type"] == "image/png"
    t = table(client, keys).json()
    assert t["cells"]["15"] == 0
    assert t["pending_suspected_mismatches"] == {"count": 1, "cases": [case["id"]]}
    rows = list(csv.reader(io.StringIO(table(client, keys, "csv").content.decode("utf-8-sig"))))
    assert len(rows[0]) == len(rows[1]) == 25  # unit, date and the 23 columns, unchanged
    assert rows[1][2 + 14] == "0" and rows[-1][1] == "1" and "疑似" in rows[-1][0]
    wb = load_workbook(io.BytesIO(table(client, keys, "xlsx").content))
    assert wb.sheetnames[1] == "待确认疑似人证不符" and wb.worksheets[1]["B1"].value == 1
    assert wb.worksheets[0].cell(row=5, column=16).value == 0  # column 15 of the annex
    html = client.get("/reports/dashboard.html", headers=auth(keys["police"])).text
    assert "id='pending-mismatches'>1<" in html


def test_confirmed_counts_in_column_15_and_dismissed_counts_nowhere(client, keys, posted):
    impostor = three_failures(client, keys, posted, IMPOSTOR)["mismatch_case_id"]
    genuine = three_failures(client, keys, posted, tip_only(OWN))["mismatch_case_id"]
    assert listed(client, keys["police"])["total"] == 2
    no_reason = client.post(f"/mismatches/{impostor}/decide", headers=auth(keys["police"]),
                            json={"decision": "confirm", "reason": ""})
    assert no_reason.status_code == 422
    ok = client.post(f"/mismatches/{impostor}/decide", headers=auth(keys["police"]),
                     json={"decision": "confirm", "reason": "another man's finger"})
    assert ok.status_code == 200 and ok.json()["status"] == "confirmed", ok.text
    vid = ok.json()["violation_id"]
    no = client.post(f"/mismatches/{genuine}/decide", headers=auth(keys["admin"]),
                     json={"decision": "dismiss", "reason": "only the fingertip was read"})
    assert no.status_code == 200 and no.json()["violation_id"] is None
    again = client.post(f"/mismatches/{genuine}/decide", headers=auth(keys["police"]),
                        json={"decision": "confirm", "reason": "changed my mind"})
    assert again.status_code == 409
    (v,) = client.get("/violations", headers=auth(keys["admin"])).json()["items"]
    assert v["id"] == vid and v["category"] == "impersonation" and v["status"] == "confirmed"
    assert v["guard_id"] == posted.guard_id and v["column"] == 15
    t = table(client, keys).json()
    assert t["cells"]["15"] == 1 and t["records"]["15"] == [{"type": "violation", "id": vid}]
    assert t["pending_suspected_mismatches"]["count"] == 0
    assert listed(client, keys["police"])["total"] == 0
    assert listed(client, keys["police"], status="dismissed")["items"][0]["id"] == genuine
    log = client.get("/audit", headers=auth(keys["auditor"]),
                     params={"action": "inspection.mismatch_decided"}).json()
    assert len(log) == 2


def test_an_unfinished_recapture_reaches_the_supervisor_when_its_window_closes(
        client, keys, posted, runtime):
    import datetime as dt

    from inspection.models import MismatchCase

    first = check(client, keys["inspector"], posted, IMPOSTOR)
    assert listed(client, keys["police"])["total"] == 0  # the inspector may still recapture
    early = client.post(f"/mismatches/{first['mismatch_case_id']}/decide",
                        headers=auth(keys["police"]), json={"decision": "dismiss",
                                                            "reason": "too early"})
    assert early.status_code == 409
    with runtime.sessions() as s:  # the window closes with two attempts unused
        case = s.get(MismatchCase, first["mismatch_case_id"])
        case.due_at -= dt.timedelta(hours=1)
        s.commit()
    (case,) = listed(client, keys["police"])["items"]
    assert case["status"] == "suspected" and case["attempts"] == 1
    late = client.post("/inspections/verify", headers=auth(keys["inspector"]),
                       data={"certificate_number": posted.number,
                             "recapture_of": str(case["id"])},
                       files={"finger": ("p.png", finger_png(OWN, 42), "image/png")})
    assert late.status_code == 409 and late.json()["code"] == "recapture_refused"


@pytest.fixture
def other_district_police(runtime) -> str:
    with runtime.sessions() as s:
        token = apikeys.create(db_session=s, role=Role.police, name="hp",
                               district="和平区").token
        s.commit()
    return token


def test_another_districts_supervisor_neither_sees_nor_decides(client, keys, posted,
                                                               other_district_police):
    case_id = three_failures(client, keys, posted, IMPOSTOR)["mismatch_case_id"]
    assert listed(client, keys["district_police"])["total"] == 1  # 蓟州区: its own
    assert listed(client, other_district_police)["total"] == 0
    h = auth(other_district_police)
    assert client.get(f"/mismatches/{case_id}", headers=h).status_code == 404
    case = listed(client, keys["police"])["items"][0]
    assert client.get(case["probes"][0]["image"], headers=h).status_code == 404
    r = client.post(f"/mismatches/{case_id}/decide", headers=h,
                    json={"decision": "dismiss", "reason": "not mine to decide"})
    assert r.status_code == 404
    assert client.get("/mismatches", headers=auth(keys["inspector"])).status_code == 403
    assert listed(client, keys["police"])["items"][0]["status"] == "suspected"


def test_a_recapture_that_decides_nothing_does_not_clear_the_case(client, keys, posted,
                                                                  runtime):
    from sqlalchemy import update

    from biometrics.models import Biometric, Modality
    from registry.models import utcnow

    first = check(client, keys["inspector"], posted, IMPOSTOR)
    with runtime.sessions() as s:  # the fingers on file are gone: nothing to compare with
        s.execute(update(Biometric).where(Biometric.modality == Modality.finger)
                  .values(superseded_at=utcnow()))
        s.commit()
    second = check(client, keys["inspector"], posted, finger_png(OWN, 42),
                   first["mismatch_case_id"])
    assert second["outcome"] == "not_enrolled"
    assert second["mismatch_status"] == "recapture" and second["attempt"] == 2


def test_a_case_about_another_districts_guard_is_for_the_city_level(client, keys, posted,
                                                                     runtime,
                                                                     other_district_police):
    """A 蓟州区 guard checked on duty in 和平区: the case is filed in 和平区, but its evidence
    is 蓟州区's enrolled images, so neither district's supervisor alone decides it."""
    with runtime.sessions() as s:
        inspector = apikeys.create(db_session=s, role=Role.inspector, name="hi",
                                   district="和平区").token
        s.commit()
    out = check(client, inspector, posted, IMPOSTOR)
    for _ in range(MAX_ATTEMPTS - 1):
        out = check(client, inspector, posted, IMPOSTOR, out["mismatch_case_id"])
    case_id = out["mismatch_case_id"]
    assert out["mismatch_status"] == "suspected"
    for scoped in (other_district_police, keys["district_police"]):  # 和平区, 蓟州区
        h = auth(scoped)
        assert listed(client, scoped)["total"] == 0
        assert client.get(f"/mismatches/{case_id}", headers=h).status_code == 404
        r = client.post(f"/mismatches/{case_id}/decide", headers=h,
                        json={"decision": "confirm", "reason": "not this key's to decide"})
        assert r.status_code == 404
    city = listed(client, keys["police"])
    assert [c["id"] for c in city["items"]] == [case_id]


def test_a_request_reads_the_case_districts_once(client, keys, posted, runtime, monkeypatch):
    """The districts a case is about decide who sees it and name its audit entry: one
    lookup per request (the real one, counted), not one for each."""
    import datetime as dt

    from inspection import mismatches
    from inspection.models import MismatchCase

    first = check(client, keys["inspector"], posted, IMPOSTOR)
    with runtime.sessions() as s:  # the recapture window closes: the case is pending
        s.get(MismatchCase, first["mismatch_case_id"]).due_at -= dt.timedelta(hours=1)
        s.commit()
    (case,) = listed(client, keys["police"])["items"]
    lookups, real = [], mismatches._districts
    monkeypatch.setattr(mismatches, "_districts",
                        lambda s, c: lookups.append(c.id) or real(s, c))
    h = auth(keys["police"])
    for method, path, body in [
            ("GET", f"/mismatches/{case['id']}", None),
            ("GET", case["probes"][0]["image"], None),
            ("POST", f"/mismatches/{case['id']}/decide",
             {"decision": "dismiss", "reason": "the tip of the finger only"})]:
        lookups.clear()
        r = client.request(method, path, headers=h, json=body)
        assert r.status_code == 200, r.text
        assert lookups == [case["id"]], (path, lookups)
    log = client.get("/audit", headers=auth(keys["auditor"]),
                     params={"resource_type": "guard", "limit": 500}).json()
    assert {"inspection.mismatch_read", "inspection.mismatch_image_viewed",
            "inspection.mismatch_decided"} <= {e["action"] for e in log}
    assert all(e["district"] == "蓟州区" for e in log if e["action"].startswith(
        "inspection.mismatch"))
