"""The station workflow through the API: verdicts, commit, de-duplication, reviews, archive."""

import threading

import pytest
from sqlalchemy import func, select

from biometrics.gallery import FaceGallery
from biometrics.models import Biometric
from enrollment.models import Capture
from enrollment.schemas import SessionIn
from registry.models import Guard
from registry.schemas import GuardIn
from tests.api.conftest import new_id
from tests.enrollment.conftest import submit_fingers
from tests.helpers import auth

# searched again on the Milvus gallery backend (make test-milvus)
pytestmark = pytest.mark.gallery


def count(runtime, table):
    """Count rows in a short transaction (a long one would hold SQLite's write lock)."""
    with runtime.sessions() as s:
        return s.scalar(select(func.count()).select_from(table))


def open_for(client, token, seq, **extra):
    body = {"guard": {"name": f"考生{seq}", "id_number": new_id(seq), "district": "蓟州区",
                      **extra}}
    r = client.post("/enrollments", headers=auth(token), json=body)
    assert r.status_code == 201, r.text
    return r.json()


def face(client, token, sid, content, **headers):
    return client.post(f"/enrollments/{sid}/face", headers={**auth(token), **headers},
                       files={"file": ("face.jpg", content, "image/jpeg")})


def test_happy_path_and_archive(client, keys, face_jpeg):
    st = keys["station"]
    s = open_for(client, st, 11)
    r = face(client, st, s["id"], face_jpeg)
    assert r.status_code == 201 and r.json()["passed"] and r.json()["reasons"] == []
    early = client.post(f"/enrollments/{s['id']}/commit", headers=auth(st))
    assert early.status_code == 422 and "finger" in early.json()["message"]
    verdicts = submit_fingers(client, st, s["id"], person=11)
    assert all(v["passed"] and v["quality"] >= 30 for v in verdicts)
    c = client.post(f"/enrollments/{s['id']}/commit", headers=auth(st))
    assert c.status_code == 200 and c.json()["status"] == "committed"
    doc = client.get(f"/guards/{s['guard_id']}/archive", headers=auth(keys["police"])).json()
    assert [(b["modality"], b["position"]) for b in doc["biometrics"]] == [
        ("face", 0), ("finger", 2), ("finger", 7)]
    assert doc["enrollments"][0]["status"] == "committed"
    assert doc["identity"]["id_number_masked"].count("*") == 8
    audit = client.get("/audit", headers=auth(keys["auditor"]),
                       params={"action": "guard.archive_read"}).json()
    assert audit and audit[0]["resource_id"] == str(s["guard_id"])


def test_quality_rejections_attempt_limit_and_incomplete_commit(client, keys, small_face_jpeg):
    st = keys["station"]
    s = open_for(client, st, 12)
    for attempt in (1, 2, 3):
        r = face(client, st, s["id"], small_face_jpeg).json()
        assert r["attempt"] == attempt and not r["passed"]
        assert r["reasons"][0]["code"] == "face_too_small" and r["reasons"][0]["advice"]
    r = face(client, st, s["id"], small_face_jpeg)
    assert r.status_code == 409 and r.json()["code"] == "too_many_attempts"
    c = client.post(f"/enrollments/{s['id']}/commit", headers=auth(st))
    assert c.status_code == 422 and c.json()["code"] == "incomplete_enrollment"


def test_unreadable_upload_is_a_clear_4xx(client, keys):
    s = open_for(client, keys["station"], 13)
    r = face(client, keys["station"], s["id"], b"\x89PNG\r\n\x1a\n not really")
    assert r.status_code == 400 and r.json()["code"] == "image_unreadable"


def test_finger_exception_needs_a_supervisor(client, keys):
    s = open_for(client, keys["station"], 14)
    r = client.post(f"/enrollments/{s['id']}/fingers/2/exception", headers=auth(keys["station"]),
                    json={"reason_code": "amputated", "reason": "right index finger"})
    assert r.status_code == 201 and r.json()["status"] == "pending"
    bad = client.post(f"/enrollments/{s['id']}/fingers/11/exception",
                      headers=auth(keys["station"]), json={"reason_code": "worn"})
    assert bad.status_code == 422
    ex = r.json()["id"]
    assert client.post(f"/finger-exceptions/{ex}/approve",
                       headers=auth(keys["station"])).status_code == 403
    ok = client.post(f"/finger-exceptions/{ex}/approve", headers=auth(keys["admin"]))
    assert ok.json()["status"] == "approved" and ok.json()["decided_by"]
    again = client.post(f"/finger-exceptions/{ex}/reject", headers=auth(keys["admin"]))
    assert again.status_code == 409
    doc = client.get(f"/guards/{s['guard_id']}/archive", headers=auth(keys["admin"])).json()
    assert doc["finger_exceptions"][0]["status"] == "approved"


def _enrol(client, token, seq, photo, *, person=None, impression_seed=1):
    s = open_for(client, token, seq)
    assert face(client, token, s["id"], photo).json()["passed"]
    submit_fingers(client, token, s["id"], person if person is not None else seq,
                   impression_seed=impression_seed)
    return s, client.post(f"/enrollments/{s['id']}/commit", headers=auth(token)).json()


@pytest.mark.parametrize("outcome", ["same_person", "different_people"])
def test_duplicate_under_a_second_id_opens_a_review(client, keys, datasets, outcome):
    samples = datasets / "faces" / "samples"
    st = keys["station"]
    first, done = _enrol(client, st, 21, (samples / "obama.jpg").read_bytes(), person=21)
    assert done["status"] == "committed"
    # The same man, another photo and other impressions of his fingers, under another ID
    # number: a stand-in or a double identity.
    second, hit = _enrol(client, st, 23, (samples / "obama_partial_face.jpg").read_bytes(),
                         person=21, impression_seed=2)
    assert hit["status"] == "review" and hit["candidates"][0]["guard_id"] == first["guard_id"]
    top = hit["candidates"][0]
    assert top["modality"] == "face+finger" and top["face"] > 0.94
    assert set(top["fingers"]) == {"2", "7"}
    cases = client.get("/reviews", headers=auth(keys["admin"])).json()
    assert [c["id"] for c in cases] == [hit["review_case_id"]]
    _check_side_by_side(client, keys, cases[0], samples, first["guard_id"])
    r = client.post(f"/reviews/{hit['review_case_id']}/resolve", headers=auth(keys["admin"]),
                    json={"outcome": outcome, "note": "checked the ID documents"})
    assert r.status_code == 200 and r.json()["status"] == outcome
    archive = client.get(f"/guards/{first['guard_id']}/archive",
                         headers=auth(keys["admin"])).json()
    assert archive["review_cases"][0]["suspected_identity_fraud"] == (outcome == "same_person")
    second_archive = client.get(f"/guards/{second['guard_id']}/archive",
                                headers=auth(keys["admin"])).json()
    expected = "blocked" if outcome == "same_person" else "committed"
    assert second_archive["enrollments"][0]["status"] == expected
    assert len(second_archive["biometrics"]) == (0 if outcome == "same_person" else 3)


def _check_side_by_side(client, keys, case, samples, first_guard):
    """The reviewer sees each new capture beside the enrolled biometric it matched."""
    from tests.enrollment.conftest import finger_png

    pairs = {(p["modality"], p["position"]): p for p in case["evidence"]}
    assert set(pairs) == {("face", None), ("finger", 2), ("finger", 7)}
    assert all(p["guard_id"] == first_guard for p in pairs.values())
    admin = auth(keys["admin"])
    expected = {("face", None): ((samples / "obama_partial_face.jpg").read_bytes(),
                                 (samples / "obama.jpg").read_bytes(), "image/jpeg")}
    for pos in (2, 7):  # the same finger of person 21: impression 2 new, impression 1 on file
        master = 10_000 + 10 * 21 + pos
        expected[("finger", pos)] = (finger_png(master, 2), finger_png(master, 1), "image/png")
    for key, (new, enrolled, media) in expected.items():
        got_new = client.get(pairs[key]["new"], headers=admin)
        got_enrolled = client.get(pairs[key]["enrolled"], headers=admin)
        assert (got_new.content, got_enrolled.content) == (new, enrolled), key
        assert got_new.headers["content-type"] == media
    # Only the reviewer, and only the images the case names.
    assert client.get(pairs[("face", None)]["new"],
                      headers=auth(keys["station"])).status_code == 403
    other = pairs[("face", None)]["enrolled"].rsplit("/", 1)[0] + "/999999"
    assert client.get(other, headers=admin).json()["code"] == "not_found"
    log = client.get("/audit", headers=auth(keys["auditor"]),
                     params={"action": "enrollment.review_image_viewed"}).json()
    assert len([e for e in log if e["detail"]["case"] == case["id"]]) == 6  # every view


def test_reenrolment_of_the_same_guard_keeps_history(client, keys, face_jpeg):
    st = keys["station"]
    s, done = _enrol(client, st, 31, face_jpeg)
    again = client.post("/enrollments", headers=auth(st), json={"guard_id": s["guard_id"]})
    assert face(client, st, again.json()["id"], face_jpeg).json()["passed"]
    submit_fingers(client, st, again.json()["id"], 31, impression_seed=3)
    c = client.post(f"/enrollments/{again.json()['id']}/commit", headers=auth(st)).json()
    assert c["status"] == "committed"  # its own earlier face and fingers are not duplicates
    bios = client.get(f"/guards/{s['guard_id']}/archive", headers=auth(st)).json()["biometrics"]
    assert len(bios) == 6 and all(b["superseded_at"] for b in bios[:3])
    assert not any(b["superseded_at"] for b in bios[3:])


def test_idempotent_retries_never_enrol_twice(client, keys, face_jpeg, runtime):
    st = keys["station"]
    body = {"guard": {"name": "重试", "id_number": new_id(41), "district": "蓟州区"}}
    first = client.post("/enrollments", headers={**auth(st), "Idempotency-Key": "k-open"},
                        json=body)
    retry = client.post("/enrollments", headers={**auth(st), "Idempotency-Key": "k-open"},
                        json=body)
    assert retry.json() == first.json() and retry.headers.get("idempotent-replay") == "true"
    sid = first.json()["id"]
    a = face(client, st, sid, face_jpeg, **{"Idempotency-Key": "k-face"})
    b = face(client, st, sid, face_jpeg, **{"Idempotency-Key": "k-face"})
    assert a.json() == b.json()
    assert count(runtime, Capture) == 1
    submit_fingers(client, st, sid, 41)
    for _ in range(2):
        c = client.post(f"/enrollments/{sid}/commit",
                        headers={**auth(st), "Idempotency-Key": "k-commit"})
        assert c.json()["status"] == "committed"
    assert count(runtime, Biometric) == 3
    reused = client.post("/enrollments", headers={**auth(st), "Idempotency-Key": "k-open"},
                         json={"guard_id": first.json()["guard_id"]})
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"


def test_two_stations_opening_the_same_id_number_make_one_guard(runtime, keys):
    from enrollment import service
    from registry.audit import Actor

    data = SessionIn(guard=GuardIn(name="并发", id_number=new_id(51), district="蓟州区"))
    barrier, results, errors = threading.Barrier(2), [], []

    def station(name):
        try:
            with runtime.sessions() as s:
                barrier.wait()
                out = service.open_session(db_session=s, vault=runtime.vault, data=data,
                                           actor=Actor(key_id=name, role="station"))
                results.append(out.guard_id)
        except Exception as exc:  # noqa: BLE001 (the assertion below reports it)
            errors.append(exc)

    threads = [threading.Thread(target=station, args=(f"st{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 2 and results[0] == results[1]
    assert count(runtime, Guard) == 1


def test_a_restarted_gallery_catches_up_from_the_database(client, keys, face_jpeg, runtime):
    s, done = _enrol(client, keys["station"], 61, face_jpeg)
    fresh = FaceGallery()  # a new process, or a replica that missed the commit
    with runtime.sessions() as db:
        assert fresh.catch_up(db, runtime.vault) == 1
    probe = runtime.face_engine.template(
        __import__("cv2").imdecode(__import__("numpy").frombuffer(face_jpeg, "uint8"), 1)[
            :, :, ::-1].copy())
    hits = fresh.search(probe.vector, threshold=0.9)
    assert hits and hits[0].guard_id == s["guard_id"]


def test_archive_pdf_is_readable_by_a_person(client, keys, face_jpeg, tmp_path):
    """The printed archive: the enrolled photo, the employer by name, events as sentences
    in Chinese (not `field: duty_status · value: on_duty · by: <key id>`)."""
    import shutil
    import subprocess

    org = client.post("/organisations", headers=auth(keys["admin"]), json={
        "name": "津安保安服务有限公司", "org_type": "security_company",
        "licence_status": "licensed", "district": "蓟州区"}).json()["id"]
    st = keys["station"]
    s = open_for(client, st, 31, employer_id=org, duty_status="on_duty",
                 post_site="蓟州区人民医院")
    assert face(client, st, s["id"], face_jpeg).json()["passed"]
    submit_fingers(client, st, s["id"], 31)
    assert client.post(f"/enrollments/{s['id']}/commit", headers=auth(st)).json()[
        "status"] == "committed"
    r = client.get(f"/guards/{s['guard_id']}/archive.pdf", headers=auth(keys["police"]))
    if r.status_code == 503:
        pytest.skip(r.json()["message"])
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    pdf = tmp_path / "a.pdf"
    pdf.write_bytes(r.content)
    if not shutil.which("pdftotext"):
        pytest.skip("poppler-utils (pdftotext, pdftoppm, pdfimages) not installed")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "保安员执业电子档案" in text and "考生31" in text and "生物特征采集" in text
    assert "********" in text  # masked ID number, never the full one
    assert "用人单位：津安保安服务有限公司" in text
    assert "上岗状态变更为「在岗」" in text and "用人单位变更为「津安保安服务有限公司」" in text
    assert "经办：station（station）" in text
    assert "采集人像" in text and "采集指纹（右食指）" in text
    for developer in ("field:", "value:", "by:", "on_duty", "duty_status", "face"):
        assert developer not in text, developer
    images = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True,
                            check=True).stdout.splitlines()[2:]
    assert len(images) == 1  # the guard's photo
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf),
                    str(tmp_path / "page")], check=True)
    from tests.browser import ARTIFACTS

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(tmp_path / "page-1.png", ARTIFACTS / "archive-pdf-page-1.png")
    assert (tmp_path / "page-1.png").stat().st_size > 10_000
    assert client.get(f"/guards/{s['guard_id']}/archive.pdf",
                      headers=auth(keys["auditor"])).status_code == 403


def test_concurrent_enrolments_of_different_guards_both_complete(client, keys, face_jpeg,
                                                                 datasets_or_none):
    """Two stations enrolling two people at the same moment: neither waits out a lock nor
    fails; each gets its own guard, and neither is taken for the other's duplicate."""
    st = keys["station"]
    photos = [face_jpeg, face_jpeg]
    sample = datasets_or_none / "faces" / "samples" / "obama.jpg" if datasets_or_none else None
    if sample is not None and sample.exists():
        photos[1] = sample.read_bytes()
    return _race(client, st, photos)


def test_one_person_enrolled_twice_at_once_is_caught(client, keys, face_jpeg):
    _race(client, keys["station"], [face_jpeg, face_jpeg])


def _race(client, st, photos):
    barrier, results, errors = threading.Barrier(2), {}, []

    def station(i):
        try:
            s = open_for(client, st, 82 + 4 * i)
            barrier.wait()
            assert face(client, st, s["id"], photos[i]).json()["passed"]
            submit_fingers(client, st, s["id"], 82 + 4 * i)
            results[i] = client.post(f"/enrollments/{s['id']}/commit", headers=auth(st)).json()
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=station, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert all("guard_id" in r for r in results.values()), results
    assert results[0]["guard_id"] != results[1]["guard_id"]
    if photos[0] != photos[1]:
        assert {r["status"] for r in results.values()} == {"committed"}
    else:  # one person under two names at once: whichever commits second is held for review
        assert sorted(r["status"] for r in results.values()) == ["committed", "review"]


def test_a_station_abandons_an_open_session_of_its_district_only(client, keys, runtime,
                                                                 face_jpeg):
    from registry import apikeys
    from registry.models import Role

    with runtime.sessions() as s:
        elsewhere = apikeys.create(db_session=s, role=Role.station, name="hp",
                                   district="和平区").token
        s.commit()
    st = keys["station"]
    sid = open_for(client, st, 41)["id"]
    r = client.post(f"/enrollments/{sid}/abandon", headers=auth(elsewhere),
                    json={"reason": "incomplete_enrollment"})
    assert r.status_code == 404  # another district's session is not even confirmed to exist
    r = client.post(f"/enrollments/{sid}/abandon", headers=auth(st),
                    json={"reason": "incomplete_enrollment"})
    assert r.status_code == 200 and r.json()["status"] == "abandoned" and r.json()["closed_at"]
    again = client.post(f"/enrollments/{sid}/abandon", headers=auth(st))
    assert again.status_code == 200 and again.json()["status"] == "abandoned"  # repeatable
    assert face(client, st, sid, face_jpeg).json()["code"] == "session_closed"
    done = open_for(client, st, 42)["id"]
    assert face(client, st, done, face_jpeg).json()["passed"]
    submit_fingers(client, st, done, 42)
    assert client.post(f"/enrollments/{done}/commit", headers=auth(st)).json()["status"] == \
        "committed"
    late = client.post(f"/enrollments/{done}/abandon", headers=auth(st))
    assert late.status_code == 409 and late.json()["code"] == "session_closed"
