"""The district policy's whole matrix, from this file's own table of expectations (not the
code's): every role x scope (unscoped, 和平区, 河西区) x resource x (list, get, filter,
export, image, write), both ways. Statuses are asserted, and every body a scoped key gets is
searched for the other district's names, certificate numbers and ids."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.api.district_world import (
    DISTRICTS,
    ROLES,
    SCOPES,
    A,
    B,
    World,
    assert_absent,
    assert_no_leak,
    call,
    new_id,
    open_city,
    other,
    targets,
)

READERS = {"admin", "station", "inspector", "police"}
CHECKERS = {"admin", "inspector", "police"}
TINY_JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 64


@dataclass(frozen=True)
class Op:
    """One operation: who may call it (by role) and what a district's key should get."""

    name: str
    method: str
    path: str
    roles: set[str]
    kind: str  # list | get | filter | export | image | write | list_of
    target: str | None = None  # the record the path or body names (primary for messages)
    ok: tuple[int, ...] = (200,)
    body: Callable[[dict], dict] | None = None
    own: str | None = None  # list: the attribute of the caller's own record that must appear
    ids: Callable[[Any], set] | None = None
    probe_roles: set[str] | None = None  # allowed roles probed (None: all of them)
    probe_scopes: set[str | None] | None = None  # scopes probed (None: all of them)
    # A write naming a district (not a record) outside the key's: refused with 403.
    names_district: bool = False


@pytest.fixture(scope="module")
def city(migrated_engine, db_url, tmp_path_factory, datasets_or_none):
    """The two-district world, seeded once for this module."""
    if datasets_or_none is None:
        pytest.skip("public datasets not found (second district's faces): set GUARDID_DATASETS")
    with open_city(migrated_engine, db_url, tmp_path_factory.mktemp("city"),
                   datasets_or_none) as c:
        yield c


@pytest.fixture(scope="module")
def face_b(datasets_or_none) -> bytes:
    """The photo B's enrolled guard was enrolled with."""
    return (datasets_or_none / "faces" / "samples" / "obama.jpg").read_bytes()


def _items(key: str = "id", wrap: str | None = "items") -> Callable[[Any], set]:
    return lambda b: {i[key] for i in (b[wrap] if wrap else b)}


OPS = [
    Op("org.list", "GET", "/organisations?limit=500", READERS, "list", own="org", ids=_items()),
    Op("org.get", "GET", "/organisations/{org}", READERS, "get", "org"),
    Op("org.filter", "GET", "/organisations?district={district}", READERS, "filter"),
    Op("org.create", "POST", "/organisations", {"admin"}, "write", ok=(201,),
       names_district=True, body=lambda t: {"json": {
           "name": "新单位", "org_type": "security_company", "licence_status": "licensed",
           "district": t["district"]}}),
    Op("org.write", "PATCH", "/organisations/{org}", {"admin"}, "write", "org",
       body=lambda t: {"json": {}}),
    Op("guard.list", "GET", "/guards?limit=500", READERS, "list", own="guard", ids=_items()),
    Op("guard.get", "GET", "/guards/{guard}", READERS, "get", "guard"),
    Op("guard.filter", "GET", "/guards?district={district}", READERS, "filter"),
    Op("guard.by_employer", "GET", "/guards?employer_id={org}", READERS, "list_of", "org",
       ids=_items()),
    # The guard search (POST, terms in the body): another district's guard is not found by
    # its certificate number, and naming another district is refused.
    Op("guard.search", "POST", "/guards/search", READERS, "list_of", "cert", ids=_items(),
       body=lambda t: {"json": {"certificate_number": t["cert"]}}),
    Op("guard.search_district", "POST", "/guards/search", READERS, "filter",
       body=lambda t: {"json": {"name": "测", "district": t["district"]}}),
    Op("guard.write", "PATCH", "/guards/{guard2}", {"admin"}, "write", "guard2",
       body=lambda t: {"json": {}}),
    Op("guard.create", "POST", "/guards", {"admin", "station"}, "write", "org", ok=(201,),
       body=lambda t: {"json": {"name": "新来的", "id_number": new_id(),
                                "employer_id": t["org"]}}),
    Op("cert.issue", "POST", "/certificates", {"admin"}, "write", "guard2", ok=(201,),
       body=lambda t: {"json": {"number": f"NEW-{new_id()[-8:]}", "guard_id": t["guard2"],
                                "issue_date": "2026-02-01"}}),
    Op("cert.list", "GET", "/certificates?limit=500", READERS, "list", own="cert",
       ids=_items("number")),
    Op("cert.get", "GET", "/certificates/{cert}", READERS, "get", "cert"),
    Op("cert.events", "GET", "/certificates/{cert}/events", READERS, "get", "cert"),
    Op("cert.filter", "GET", "/certificates?district={district}", READERS, "filter"),
    Op("cert.write", "POST", "/certificates/{cert2}/reinstate", {"admin", "police"}, "write",
       "cert2", ok=(409,), body=lambda t: {"json": {"reason": "probe"}}),
    Op("ecert.qr", "GET", "/certificates/{cert}/qr", {"admin", "station"}, "image", "cert"),
    Op("ecert.card", "GET", "/certificates/{cert}/card", {"admin", "station"}, "export",
       "cert"),
    Op("enrol.get", "GET", "/enrollments/{session}", {"admin", "station"}, "get", "session"),
    Op("enrol.commit", "POST", "/enrollments/{session}/commit", {"admin", "station"}, "write",
       "session"),
    Op("enrol.face", "POST", "/enrollments/{session}/face", {"admin", "station"}, "write",
       "session", ok=(409,), body=lambda t: {"files": {"file": ("f.jpg", TINY_JPEG,
                                                                 "image/jpeg")}}),
    Op("exception.decide", "POST", "/finger-exceptions/{exception}/approve", {"admin"},
       "write", "exception", ok=(200, 409)),
    Op("review.list", "GET", "/reviews", {"admin"}, "list", own="case", ids=_items(wrap=None)),
    Op("review.image", "GET", "/reviews/{case}/images/capture/{capture}", {"admin"}, "image",
       "case"),
    Op("check.list", "GET", "/inspections?limit=500", CHECKERS, "list", own="check",
       ids=_items("check_id")),
    Op("check.get", "GET", "/inspections/{check}", CHECKERS, "get", "check"),
    Op("check.holder", "GET", "/inspections/{check}/holder", {"admin", "inspector"}, "get",
       "check"),
    Op("check.holder_photo", "GET", "/inspections/{check}/holder/photo",
       {"admin", "inspector"}, "image", "check"),
    Op("check.filter", "GET", "/inspections?district={district}", CHECKERS, "filter"),
    Op("violation.list", "GET", "/violations?limit=500", CHECKERS, "list", own="violation",
       ids=_items()),
    Op("violation.get", "GET", "/violations/{violation}", CHECKERS, "get", "violation"),
    Op("violation.filter", "GET", "/violations?district={district}", CHECKERS, "filter"),
    Op("violation.evidence", "GET", "/violations/{violation}/evidence", {"admin", "police"},
       "image", "violation"),
    Op("violation.create", "POST", "/violations", CHECKERS, "write", "org", ok=(201,),
       body=lambda t: {"data": {"category": "uniform", "organisation_id": str(t["org"])}}),
    Op("violation.by_district", "POST", "/violations", CHECKERS, "write", ok=(201,),
       names_district=True, body=lambda t: {"data": {"category": "uniform",
                                                     "district": t["district"]}}),
    Op("rectification.create", "POST", "/rectifications", CHECKERS, "write", "org", ok=(201,),
       body=lambda t: {"json": {"action": "unit_filed", "organisation_id": t["org"]}}),
    Op("exam.create", "POST", "/exams", {"admin"}, "write", ok=(201,), names_district=True,
       body=lambda t: {"json": {"name": "补考", "site": "考点", "district": t["district"],
                                "exam_date": "2026-12-21"}}),
    Op("exam.get", "GET", "/exams/{exam}", {"admin", "station", "police"}, "get", "exam"),
    Op("exam.register", "POST", "/exams/{exam}/candidates", {"admin", "station"}, "write",
       "exam", body=lambda t: {"json": {"guard_ids": [t["guard"]]}}),
    Op("archive.get", "GET", "/guards/{guard}/archive", READERS, "get", "guard"),
    # Rendering is slow (~2 s here) and renders the document archive.get checks: one key,
    # scoped, is probed both ways.
    Op("archive.pdf", "GET", "/guards/{guard}/archive.pdf", READERS, "export", "guard",
       probe_roles={"police"}, probe_scopes={A}),
    Op("report.coverage", "GET", "/reports/coverage?district={district}", {"admin", "police"},
       "filter"),
    Op("report.csv", "GET", "/reports/coverage?format=csv", {"admin", "police"}, "list"),
    Op("report.campaign", "GET", "/reports/campaign?district={district}&format=csv",
       {"admin", "police"}, "filter"),
    Op("report.campaign_en", "GET",
       "/reports/campaign?district={district}&format=xlsx&lang=en", {"admin", "police"},
       "filter"),
    Op("report.missing", "GET", "/reports/missing?district={district}", {"admin", "police"},
       "filter"),
    Op("report.missing_list", "GET", "/reports/missing?limit=500", {"admin", "police"}, "list"),
    Op("report.cell", "GET", "/reports/campaign/cells/15?district={district}",
       {"admin", "police"}, "filter"),
    Op("report.trend", "GET", "/reports/trend?district={district}", {"admin", "police"},
       "filter"),
    Op("report.trend_range", "GET",
       "/reports/trend?start=2026-11-01&end=2026-11-20&district={district}",
       {"admin", "police"}, "filter"),
    Op("report.dashboard", "GET", "/reports/dashboard.html?district={district}",
       {"admin", "police"}, "filter"),
    # The suspected-mismatch queue: every query of inspection/mismatches.py.
    Op("mismatch.list", "GET", "/mismatches?limit=500", {"admin", "police"}, "list",
       own="mismatch", ids=_items()),
    Op("mismatch.filter", "GET", "/mismatches?district={district}", {"admin", "police"},
       "filter"),
    Op("mismatch.by_status", "GET", "/mismatches?status=recapture&district={district}",
       {"admin", "police"}, "filter"),
    Op("mismatch.get", "GET", "/mismatches/{mismatch}", {"admin", "police"}, "get",
       "mismatch"),
    Op("mismatch.image", "GET", "/mismatches/{mismatch}/images/probe/{probe}",
       {"admin", "police"}, "image", "mismatch"),
    # Decided on the case still taking recaptures: refused (409) in scope, nothing changes.
    Op("mismatch.decide", "POST", "/mismatches/{mismatch2}/decide", {"admin", "police"},
       "write", "mismatch2", ok=(409,),
       body=lambda t: {"json": {"decision": "dismiss", "reason": "probe"}}),
    Op("audit.list", "GET", "/audit?limit=500", {"auditor"}, "list"),
    Op("audit.filter", "GET", "/audit?resource_type=guard&resource_id={guard}", {"auditor"},
       "list_of", "guard", ids=lambda b: {e["resource_id"] for e in b}),
]


def expected(op: Op, role: str, scope: str | None, district: str) -> str:
    """This file's policy: what a key of ``role``/``scope`` gets for a record of ``district``."""
    if role not in op.roles:
        return "forbidden"
    if scope is None or scope == district:
        return "ok"
    return "refused" if op.kind == "filter" or op.names_district else "absent"


def check_list(world: World, op: Op, r, role: str, scope: str | None) -> None:  # noqa: ANN001
    """A listing holds the caller's own records and, for a scoped key, nothing of the other."""
    assert r.status_code == 200, (op.name, role, scope, r.text)
    if op.name.startswith("audit") and scope is not None:
        assert {e["district"] for e in r.json()} <= {scope}, op.name
    if op.ids is None:
        return
    got = op.ids(r.json())
    for d in DISTRICTS:
        mine = getattr(world.d[d], op.own)
        assert (mine in got) == (scope in (None, d)), (op.name, role, scope, d, got)


@pytest.mark.parametrize("op", OPS, ids=[o.name for o in OPS])
def test_district_matrix(city, op):
    client, world = city
    for role in ROLES:
        for scope in SCOPES:
            if role not in op.roles:  # refused by role before any record is looked up
                r = call(client, world, op, role, scope, targets(world, A))
                assert r.status_code == 403, (op.name, role, scope, r.status_code)
                continue
            if (op.probe_roles is not None and role not in op.probe_roles) or (
                    op.probe_scopes is not None and scope not in op.probe_scopes):
                continue
            if op.kind == "list":
                r = call(client, world, op, role, scope, targets(world, A))
                check_list(world, op, r, role, scope)
                assert_no_leak(world, r, scope, f"{op.name} {role}/{scope}")
                continue
            for district in DISTRICTS:
                _probe(client, world, op, role, scope, district)


def _probe(client, world, op, role, scope, district) -> None:  # noqa: ANN001
    """One key against one district's record: the status the table expects, and no leak."""
    t = targets(world, district)
    r = call(client, world, op, role, scope, t)
    want, what = expected(op, role, scope, district), f"{op.name} {role}/{scope} -> {district}"
    if op.kind == "list_of":
        assert r.status_code == 200, (what, r.text)
        assert bool(op.ids(r.json())) == (want == "ok"), (what, r.text)
    elif want == "ok":
        assert r.status_code in op.ok, (what, r.status_code, r.text[:300])
    elif want == "refused":
        assert r.status_code == 403 and r.json()["code"] == "forbidden", (what, r.text)
    else:
        assert_absent(client, world, op, role, scope, r, t, district)
    assert_no_leak(world, r, scope, what, sent=t if want != "ok" else None)


def test_matrix_covers_every_kind_and_resource():
    kinds = {o.kind for o in OPS}
    assert {"list", "get", "filter", "export", "image", "write"} <= kinds
    resources = {o.name.split(".")[0] for o in OPS}
    assert {"org", "guard", "cert", "ecert", "enrol", "review", "check", "violation",
            "rectification", "exam", "archive", "report", "mismatch", "audit"} <= resources


# The probes of issue 18 ("District scoping"), each its own test.

def _absent_like(r, none, sent, ref) -> None:  # noqa: ANN001
    """``r`` (a record elsewhere) answers exactly like ``none`` (a record that never existed)."""
    assert (r.status_code, r.json()["code"]) == (none.status_code, none.json()["code"]), r.text
    assert r.json()["message"].replace(str(sent), "<x>") == \
        none.json()["message"].replace(str(ref), "<x>")


def test_review_cases_stay_in_their_district_and_spanning_ones_go_to_the_city(city):
    client, w = city
    for d in DISTRICTS:
        listed = client.get("/reviews", headers=w.key("admin", d))
        assert [c["id"] for c in listed.json()] == [w.d[d].case], listed.text
        assert_no_leak(w, listed, d, f"reviews of {d}")
    city_wide = {c["id"] for c in client.get("/reviews", headers=w.key("admin", None)).json()}
    assert {w.d[A].case, w.d[B].case, w.cross_case} <= city_wide
    image = f"/reviews/{w.cross_case}/images/capture/{w.cross_capture}"
    none = client.get("/reviews/999999/images/capture/1", headers=w.key("admin", A))
    for d in DISTRICTS:  # the spanning case: neither district's admin sees or decides it
        _absent_like(client.get(image, headers=w.key("admin", d)), none, w.cross_case, 999999)
        r = client.post(f"/reviews/{w.cross_case}/resolve", headers=w.key("admin", d),
                        json={"outcome": "same_person"})
        _absent_like(r, client.post("/reviews/999999/resolve", headers=w.key("admin", d),
                                    json={"outcome": "same_person"}), w.cross_case, 999999)
    other = f"/reviews/{w.d[A].case}/images/capture/{w.d[A].capture}"
    _absent_like(client.get(other, headers=w.key("admin", B)), none, w.d[A].case, 999999)
    assert client.get(image, headers=w.key("admin", None)).headers["content-type"] == \
        "image/jpeg"
    done = client.post(f"/reviews/{w.cross_case}/resolve", headers=w.key("admin", None),
                       json={"outcome": "same_person", "note": "city-level reviewer"})
    assert done.status_code == 200 and done.json()["status"] == "same_person", done.text


def test_commit_answer_names_no_candidate_of_another_district(city):
    _, w = city
    assert w.cross_commit["status"] == "review" and w.cross_commit["review_case_id"]
    assert w.cross_commit["candidates"] == []  # the hit is A's guard: the city decides


def test_no_violation_against_another_districts_guard_under_an_own_organisation(city):
    client, w = city
    h = w.key("inspector", A)
    form = {"category": "uniform", "organisation_id": str(w.d[A].org)}
    r = client.post("/violations", headers=h, data={**form, "guard_id": str(w.d[B].guard)})
    none = client.post("/violations", headers=h, data={**form, "guard_id": "999999"})
    _absent_like(r, none, w.d[B].guard, 999999)
    archive = client.get(f"/guards/{w.d[B].guard}/archive", headers=w.key("police", B)).json()
    assert archive["violations"] == []


def test_no_guard_moves_to_or_is_created_under_another_districts_employer(city):
    client, w = city
    for role in ("admin", "station"):
        body = {"name": "新保安", "id_number": new_id(), "district": A}
        h = w.key(role, A)
        r = client.post("/guards", headers=h, json={**body, "employer_id": w.d[B].org})
        none = client.post("/guards", headers=h, json={**body, "employer_id": 999999})
        _absent_like(r, none, w.d[B].org, 999999)
        r = client.post("/guards", headers=h, json={**body, "district": None,
                                                    "employer_id": w.d[B].org})
        _absent_like(r, none, w.d[B].org, 999999)
    h = w.key("admin", A)
    path = f"/guards/{w.d[A].guard2}"
    r = client.patch(path, headers=h, json={"employer_id": w.d[B].org})
    _absent_like(r, client.patch(path, headers=h, json={"employer_id": 999999}),
                 w.d[B].org, 999999)
    assert client.patch(path, headers=h, json={"district": B}).status_code == 403
    guard = client.get(path, headers=w.key("admin", None)).json()
    assert (guard["employer_id"], guard["district"]) == (w.d[A].org, A)


def test_identify_searches_the_city_discloses_little_and_files_the_check_here(city, face_b):
    client, w = city
    r = client.post("/inspections/identify", headers=w.key("inspector", A),
                    files={"face": ("p.jpg", face_b, "image/jpeg")})
    assert r.status_code == 200 and r.json()["outcome"] == "identified", r.text
    hit = r.json()["candidates"][0]
    assert hit["elsewhere"] and hit["certificate_status"] == "valid"
    assert r.json()["guard_id"] is None and r.json()["certificate_number"] is None
    assert_no_leak(w, r, A, "identify")
    own = client.get(f"/inspections/{r.json()['check_id']}", headers=w.key("inspector", A))
    assert own.status_code == 200 and own.json()["district"] == A, own.text
    assert_no_leak(w, own, A, "own identify check")
    assert client.get(f"/inspections/{r.json()['check_id']}",
                      headers=w.key("inspector", B)).status_code == 404


def test_a_guard_of_another_district_verifies_here_like_any_certificate(city, face_b):
    client, w = city
    h = w.key("inspector", A)
    r = client.post("/inspections/verify", headers=h, data={"certificate_number": w.d[B].cert},
                    files={"face": ("p.jpg", face_b, "image/jpeg")})
    assert r.status_code == 200 and r.json()["outcome"] == "match", r.text
    assert r.json()["guard_id"] is None and r.json()["face_score"] is None
    assert r.json()["certificate_number"] is None  # the inspector holds the card
    for part in ("holder", "holder/photo"):  # nor the holder's name, employer or photo
        held = client.get(f"/inspections/{r.json()['check_id']}/holder".replace(
            "holder", part), headers=h)
        assert held.status_code == 404 and held.json()["code"] == "not_found", held.text
    assert_no_leak(w, r, A, "verify")
    unknown = client.post("/inspections/verify", headers=h, data={"certificate_number": "ZZ-1"},
                          files={"face": ("p.jpg", face_b, "image/jpeg")})
    assert unknown.status_code == 200 and unknown.json()["outcome"] == "no_certificate"
    mine = client.get("/inspections", headers=h).json()["items"]
    assert r.json()["check_id"] in {c["check_id"] for c in mine}
    theirs = client.get("/inspections", headers=w.key("inspector", B)).json()["items"]
    assert r.json()["check_id"] not in {c["check_id"] for c in theirs}


def test_scoped_auditor_reads_only_entries_about_its_district(city):
    client, w = city
    for d in DISTRICTS:
        entries = client.get("/audit", headers=w.key("auditor", d),
                             params={"limit": 500}).json()
        assert entries and {e["district"] for e in entries} == {d}
        guards = {e["resource_id"] for e in entries if e["resource_type"] == "guard"}
        assert str(w.d[d].guard) in guards
        assert not guards & {str(g) for g in w.d[other(d)].guards}


def test_archive_shows_no_candidate_or_subject_of_another_district(city):
    client, w = city
    theirs = client.get(f"/guards/{w.cross_subject}/archive", headers=w.key("police", B))
    case = next(c for c in theirs.json()["review_cases"] if c["id"] == w.cross_case)
    assert case["candidates"] == [] and case["subject"] == w.cross_subject
    assert_no_leak(w, theirs, B, "archive B")
    ours = client.get(f"/guards/{w.d[A].guard}/archive", headers=w.key("police", A))
    case = next(c for c in ours.json()["review_cases"] if c["id"] == w.cross_case)
    assert case["subject"] is None and [x["guard_id"] for x in case["candidates"]] == \
        [w.d[A].guard]
    assert_no_leak(w, ours, A, "archive A")


def test_another_districts_enrolment_reads_like_an_unknown_one(city):
    client, w = city
    h = w.key("station", A)
    _absent_like(client.get(f"/enrollments/{w.d[B].session}", headers=h),
                 client.get("/enrollments/999999", headers=h), w.d[B].session, 999999)


@pytest.mark.parametrize(("path", "role", "action"), [
    ("/reviews", "admin", "enrollment.review_list"),
    ("/inspections", "police", "inspection.list"),
    ("/inspections/{check}", "inspector", "inspection.read"),
    ("/violations/{violation}", "police", "violation.read"),
    ("/enrollments/{session}", "station", "enrollment.read"),
    ("/exams/{exam}", "police", "exam.read"),
    ("/mismatches", "police", "inspection.mismatch_list"),
    ("/mismatches/{mismatch}", "admin", "inspection.mismatch_read")])
def test_reads_are_audited(city, path, role, action):
    client, w = city
    key = w.key(role, A)
    before = len(client.get("/audit", headers=w.key("auditor", A),
                            params={"action": action, "limit": 500}).json())
    assert client.get(path.format(**targets(w, A)), headers=key).status_code == 200
    after = client.get("/audit", headers=w.key("auditor", A),
                       params={"action": action, "limit": 500}).json()
    assert len(after) == before + 1 and after[0]["district"] == A


def test_exam_door_check_names_no_stand_in_of_another_district(city, face_b):
    client, w = city
    r = client.post(f"/exams/{w.d[A].exam}/checks", headers=w.key("station", A),
                    data={"guard_id": str(w.d[A].guard)},
                    files={"face": ("p.jpg", face_b, "image/jpeg")})
    assert r.status_code == 201 and r.json()["result"] == "stand_in", r.text
    assert r.json()["others"] == [{"elsewhere": True}]
    summary = client.get(f"/exams/{w.d[A].exam}", headers=w.key("police", A))
    assert summary.json()["candidates"][0]["others"] == [{"elsewhere": True}]
    assert_no_leak(w, summary, A, "exam summary")


def test_checks_filtered_by_another_districts_guard_are_none(city, face_b):
    client, w = city
    h = w.key("inspector", A)
    client.post("/inspections/verify", headers=h, data={"certificate_number": w.d[B].cert},
                files={"face": ("p.jpg", face_b, "image/jpeg")})
    listed = client.get("/inspections", headers=h, params={"guard_id": w.d[B].guard}).json()
    assert listed["total"] == 0 and listed["items"] == []


def test_an_e_certificate_of_another_district_verifies_online_here(city):
    client, w = city
    token = client.post(f"/certificates/{w.d[B].cert}/ecert",
                        headers=w.key("station", B)).json()["token"]
    r = client.post("/certificates/verify-token", headers=w.key("inspector", A),
                    json={"token": token})
    assert r.status_code == 200 and r.json()["valid"] and r.json()["status"] == "valid", r.text
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    r = client.post("/certificates/verify-token", headers=w.key("inspector", A),
                    json={"token": forged})
    assert r.json()["valid"] is False and r.json()["status"] is None  # nothing looked up


def test_a_check_of_another_districts_guard_and_its_violation_are_filed_here(city):
    client, w = city
    check = client.get(f"/inspections/{w.cross_check}", headers=w.key("police", A))
    assert check.status_code == 200 and check.json()["outcome"] == "not_enrolled", check.text
    assert check.json()["guard_id"] is None and check.json()["district"] == A
    found = [v for v in client.get("/violations", headers=w.key("police", A),
                                   params={"limit": 500}).json()["items"]
             if v["check_id"] == w.cross_check]
    assert [v["category"] for v in found] == ["unqualified_person"]
    assert (found[0]["guard_id"], found[0]["organisation_id"]) == (None, None)
    assert client.get(f"/inspections/{w.cross_check}",
                      headers=w.key("police", B)).status_code == 404
