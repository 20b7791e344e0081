"""A small city of two districts for the district-policy tests, seeded once per module
through the API: organisations, guards with certificates, enrolments, a review case inside
each district and two that span both, spot checks, violations and an exam."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
from skimage import data

from registry import apikeys, idnumber
from registry.models import Role
from tests.helpers import auth

A, B = "和平区", "河西区"
DISTRICTS = (A, B)
SCOPES = (None, A, B)
ROLES = ("admin", "station", "inspector", "police", "auditor")
# Distinct, searchable strings per district: a body leaks when one of the other's appears.
LABEL = {A: "和平甲", B: "河西乙"}
CERT = {A: "HP", B: "HX"}
_ids = itertools.count(1)
# Path and body values of records that do not exist (what "absent" must look like).
NONE = {"org": 999999, "guard": 999999, "guard2": 999999, "cert": "ZZ-9999",
        "cert2": "ZZ-9998", "session": 999999, "case": 999999, "capture": 999999,
        "check": 999999, "violation": 999999, "exam": 999999, "exception": 999999,
        "mismatch": 999999, "mismatch2": 999999, "probe": 999999}
GUARD_KEYS, ORG_KEYS = {"guard_id", "subject"}, {"employer_id", "organisation_id"}


def new_id() -> str:
    """A fresh valid ID number (each call another person: an odd sequence, a new day)."""
    n = next(_ids)
    return idnumber.make("120101", dt.date(1960, 1, 1) + dt.timedelta(days=n), 1, male=True)


@dataclass
class District:
    """What the world holds in one district."""

    org: int = 0
    guard: int = 0  # enrolled, certified, on duty
    guard2: int = 0  # certified, not enrolled
    cert: str = ""
    cert2: str = ""
    session: int = 0  # the enrolled guard's committed session
    case: int = 0  # a review case whose guards are all in this district
    capture: int = 0  # a capture the case's evidence names
    check: int = 0
    violation: int = 0
    exam: int = 0
    exception: int = 0  # a pending finger exception of the enrolled guard
    mismatch: int = 0  # a suspected mismatch of the enrolled guard, waiting for a supervisor
    mismatch2: int = 0  # another, still taking recaptures (a decision on it is refused)
    probe: int = 0  # the spot check whose probe is the waiting case's evidence
    guards: list[int] = field(default_factory=list)
    markers: set[str] = field(default_factory=set)


@dataclass
class World:
    """Both districts, the cross-district review cases, and a key per role and scope."""

    d: dict[str, District]
    cross_case: int = 0  # subject in B, candidate A's enrolled guard
    cross_capture: int = 0
    cross_subject: int = 0
    cross_check: int = 0  # a check in A of B's guard
    cross_commit: dict = field(default_factory=dict)
    keys: dict[tuple[str, str | None], str] = field(default_factory=dict)

    def key(self, role: str, scope: str | None) -> dict[str, str]:
        """Return the auth header of the key of ``role`` scoped to ``scope``."""
        return auth(self.keys[(role, scope)])


def _ok(r, status=(200, 201)):  # noqa: ANN001
    assert r.status_code in status, r.text
    return r.json()


def _guard(client, h, d: str, org: int, label: str, world_d: District) -> int:  # noqa: ANN001
    g = _ok(client.post("/guards", headers=h, json={
        "name": label, "id_number": new_id(), "employer_id": org, "district": d,
        "post_site": f"{LABEL[d]}医院", "duty_status": "on_duty",
        "background_check": "passed"}))
    world_d.guards.append(g["id"])
    world_d.markers.add(label)
    return g["id"]


def _enrol(client, h, guard: int, photo: bytes) -> tuple[dict, int, int]:  # noqa: ANN001
    """Enrol a face (both index fingers excused, which is cheap); return the commit answer,
    the face capture's id and a finger exception's. De-duplication runs on the face alone."""
    s = _ok(client.post("/enrollments", headers=h, json={"guard_id": guard}))
    f = _ok(client.post(f"/enrollments/{s['id']}/face", headers=h,
                        files={"file": ("f.jpg", photo, "image/jpeg")}))
    assert f["passed"], f
    excused = [_ok(client.post(f"/enrollments/{s['id']}/fingers/{pos}/exception", headers=h,
                               json={"reason_code": "injured"}))["id"] for pos in (2, 7)]
    return _ok(client.post(f"/enrollments/{s['id']}/commit", headers=h)), f["id"], excused[0]


def make_keys(runtime) -> dict[tuple[str, str | None], str]:  # noqa: ANN001
    """Create one key per role and scope."""
    with runtime.sessions() as s:
        out = {(role, scope): apikeys.create(db_session=s, role=Role(role), name=role,
                                             district=scope).token
               for role in ROLES for scope in SCOPES}
        s.commit()
    return out


def seed(client, runtime, faces: dict[str, bytes]) -> World:  # noqa: ANN001
    """Build the world; ``faces`` holds passing photos: a, a_again (A), b, b_again (B)."""
    w = World(d={A: District(), B: District()}, keys=make_keys(runtime))
    adm = w.key("admin", None)
    for d in DISTRICTS:
        x, lab = w.d[d], LABEL[d]
        x.org = _ok(client.post("/organisations", headers=adm, json={
            "name": f"{lab}保安公司", "org_type": "security_company",
            "licence_no": f"LIC-{CERT[d]}-1", "licence_status": "licensed",
            "district": d}))["id"]
        x.markers |= {f"{lab}保安公司", f"LIC-{CERT[d]}-1", f"{lab}医院", f"{lab}考场"}
        x.guard = _guard(client, adm, d, x.org, f"{lab}一号", x)
        x.guard2 = _guard(client, adm, d, x.org, f"{lab}二号", x)
        for gid, num in ((x.guard, f"{CERT[d]}-0001"), (x.guard2, f"{CERT[d]}-0002")):
            _ok(client.post("/certificates", headers=adm, json={
                "number": num, "guard_id": gid, "issue_date": "2026-01-05"}))
            x.markers.add(num)
        x.cert, x.cert2 = f"{CERT[d]}-0001", f"{CERT[d]}-0002"
    photo = {A: faces["a"], B: faces["b"]}
    for d in DISTRICTS:
        x, st = w.d[d], w.key("station", d)
        done, _, x.exception = _enrol(client, st, x.guard, photo[d])
        assert done["status"] == "committed", done
        x.session = done["session_id"]
    # A second person's enrolment matching the first in the same district: a local case.
    again = {A: faces["a_again"], B: faces["b_again"]}
    for d in DISTRICTS:
        x = w.d[d]
        hit, x.capture, _ = _enrol(client, w.key("station", d),
                                _guard(client, adm, d, x.org, f"{LABEL[d]}三号", x), again[d])
        assert hit["status"] == "review", hit
        x.case = hit["review_case_id"]
    # A guard of B who matches A's enrolled guard: a case spanning both districts.
    w.cross_subject = _guard(client, adm, B, w.d[B].org, f"{LABEL[B]}四号", w.d[B])
    w.cross_commit, w.cross_capture, _ = _enrol(client, w.key("station", B), w.cross_subject,
                                             faces["a"])
    w.cross_case = w.cross_commit["review_case_id"]
    assert w.cross_case, w.cross_commit
    for d in DISTRICTS:
        _district_records(client, w, d, photo[d])
        _mismatches(client, runtime, w, d, photo[other(d)])
    # B's unenrolled guard met in A: a check, and the violation it derives, filed in A (every
    # listing of A below must then show them without naming B's guard or organisation).
    r = client.post("/inspections/verify", headers=w.key("inspector", A),
                    data={"certificate_number": w.d[B].cert2},
                    files={"face": ("p.jpg", photo[A], "image/jpeg")})
    w.cross_check = r.json().get("check_id", 0)  # (before the policy: refused, 404)
    return w


def _district_records(client, w: World, d: str, photo: bytes) -> None:  # noqa: ANN001
    """A spot check, a violation with evidence and an exam, each filed in ``d``."""
    x = w.d[d]
    x.check = _ok(client.post("/inspections/verify", headers=w.key("inspector", d),
                              data={"certificate_number": x.cert, "site": f"{LABEL[d]}医院"},
                              files={"face": ("p.jpg", photo, "image/jpeg")}))["check_id"]
    x.violation = _ok(client.post("/violations", headers=w.key("inspector", d),
                                  data={"category": "uniform", "organisation_id": str(x.org),
                                        "site": f"{LABEL[d]}医院"},
                                  files={"evidence": ("e.jpg", photo, "image/jpeg")}))["id"]
    x.exam = _ok(client.post("/exams", headers=w.key("admin", None), json={
        "name": f"{LABEL[d]}考场", "site": f"{LABEL[d]}考场", "district": d,
        "exam_date": "2026-12-20"}))["id"]
    _ok(client.post(f"/exams/{x.exam}/candidates", headers=w.key("station", d),
                    json={"guard_ids": [x.guard]}))


def _mismatches(client, runtime, w: World, d: str, intruder: bytes) -> None:  # noqa: ANN001
    """Two no-matches of ``d``'s enrolled guard (another person's face), filed in ``d``; the
    recapture window of the first is then closed, so it waits for a supervisor."""
    import datetime as dt

    from inspection.models import MismatchCase

    x = w.d[d]
    for attr in ("mismatch2", "mismatch"):
        r = _ok(client.post("/inspections/verify", headers=w.key("inspector", d),
                            data={"certificate_number": x.cert, "site": f"{LABEL[d]}医院"},
                            files={"face": ("p.jpg", intruder, "image/jpeg")}))
        assert r["mismatch_status"] == "recapture", r
        setattr(x, attr, r["mismatch_case_id"])
    x.probe = r["check_id"]
    with runtime.sessions() as s:
        s.get(MismatchCase, x.mismatch).due_at -= dt.timedelta(hours=1)
        s.commit()


def faces(samples: Path, astronaut: bytes) -> dict[str, bytes]:
    """The photos the world enrols: the astronaut (A) and Obama (B), each more than once."""
    return {"a": astronaut, "a_again": astronaut, "b": (samples / "obama.jpg").read_bytes(),
            "b_again": (samples / "obama_partial_face.jpg").read_bytes()}


def other(district: str) -> str:
    """The district that is not ``district``."""
    return B if district == A else A


def targets(world: World, district: str | None) -> dict:
    """The path and body values naming ``district``'s records (None: records that don't exist)."""
    if district is None:
        return {**NONE, "district": A}
    d = world.d[district]
    return {k: getattr(d, k) for k in NONE} | {"district": district}


def call(client, world: World, op, role: str, scope: str | None, t: dict):  # noqa: ANN001
    """Make the request of ``op`` naming the records ``t`` with the key of role/scope."""
    extra = op.body(t) if op.body else {}
    return client.request(op.method, op.path.format(**t), headers=world.key(role, scope),
                          **extra)


def assert_no_leak(world: World, r, scope: str | None, what: str,  # noqa: ANN001
                   sent: dict | None = None) -> None:
    """A scoped key's body names nothing of the other district: no names, numbers or ids
    (but for what the caller sent itself, which an error message may echo)."""
    if scope is None:
        return
    foreign = world.d[other(scope)]
    echoed = {str(v) for v in (sent or {}).values()}
    text = r.content.decode("utf-8", "replace") if not r.headers.get(
        "content-type", "").startswith(("image/", "application/pdf")) else ""
    for marker in foreign.markers - echoed:
        assert marker not in text, f"{what}: {marker!r} of {other(scope)} in the body"
    if r.headers.get("content-type", "").startswith("application/json"):
        _walk(r.json(), set(foreign.guards), {foreign.org}, what)


def _walk(node: Any, guards: set[int], orgs: set[int], what: str) -> None:
    """Fail when a guard or organisation id of the other district appears under its key."""
    if isinstance(node, list):
        for v in node:
            _walk(v, guards, orgs, what)
    elif isinstance(node, dict):
        if node.get("resource_type") == "guard":
            assert str(node.get("resource_id")) not in {str(g) for g in guards}, what
        for k, v in node.items():
            assert not (k in GUARD_KEYS and v in guards), f"{what}: {k}={v} of another district"
            assert not (k in ORG_KEYS and v in orgs), f"{what}: {k}={v} of another district"
            _walk(v, guards, orgs, what)


def assert_absent(client, world, op, role, scope, r, t, district) -> None:  # noqa: ANN001
    """Another district's record answers exactly like a record that does not exist."""
    none = call(client, world, op, role, scope, targets(world, None))
    assert r.status_code == none.status_code and r.status_code in (404, 422), (op.name, r.text)
    got, ref = r.json(), none.json()
    assert got["code"] == ref["code"], (op.name, got, ref)
    assert got["message"].replace(str(t[op.target]), "<x>") == \
        ref["message"].replace(str(NONE[op.target]), "<x>"), (op.name, got, ref)
    assert set(got) == set(ref), (op.name, got, ref)


@contextmanager
def open_city(engine, db_url: str, tmp: Path, datasets: Path) -> Iterator[tuple]:  # noqa: ANN001
    """Yield (client, world) on the worker's database; empty it again afterwards."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from bootstrap import Runtime, session_factory
    from registry.crypto import Keyring, Vault
    from registry.models import Base
    from registry.settings import Environment, Settings
    from tests.conftest import SYNTHETIC_FINGER_THRESHOLDS
    from tests.enrollment.conftest import jpeg

    settings = Settings(env=Environment.test, var_dir=tmp / "var", database_url=db_url,
                        keyring_file=tmp / "var" / "keyring.json", datasets=datasets,
                        finger_thresholds_file=str(SYNTHETIC_FINGER_THRESHOLDS))
    runtime = Runtime(settings=settings, engine=engine, sessions=session_factory(engine),
                      vault=Vault(Keyring.open(settings.keyring_file, create=True)))
    astronaut = jpeg(cv2.resize(data.astronaut(), (1024, 1024), interpolation=cv2.INTER_CUBIC))
    try:
        with TestClient(create_app(runtime=runtime)) as client:
            yield client, seed(client, runtime, faces(datasets / "faces" / "samples", astronaut))
    finally:
        with engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())
