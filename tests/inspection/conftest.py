"""Inspection fixtures: a licensed employer, an enrolled guard on duty with a certificate."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from tests.api.conftest import new_id
from tests.enrollment.conftest import face_jpeg, jpeg, small_face_jpeg, submit_fingers  # noqa: F401
from tests.helpers import auth

SITE = "蓟州区人民医院"


@dataclass
class Posted:
    """A guard as a spot check finds them."""

    guard_id: int
    number: str
    org_id: int


def make_org(client, keys, **extra) -> int:
    body = {"name": extra.pop("name", "津安保安服务有限公司"), "org_type": "security_company",
            "licence_no": extra.pop("licence_no", None), "licence_status": "licensed",
            "district": "蓟州区", **extra}
    r = client.post("/organisations", headers=auth(keys["admin"]), json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def make_guard(client, keys, seq, org_id, *, photo: bytes | None, **extra) -> Posted:
    """Register a guard, enrol ``photo`` (if any) and issue a certificate."""
    body = {"name": f"王保安{seq}", "id_number": new_id(seq), "employer_id": org_id,
            "district": "蓟州区", "post_site": SITE, "duty_status": "on_duty",
            "background_check": "passed", **extra}
    r = client.post("/guards", headers=auth(keys["admin"]), json=body)
    assert r.status_code == 201, r.text
    gid = r.json()["id"]
    if photo is not None:
        st = keys["station"]
        s = client.post("/enrollments", headers=auth(st), json={"guard_id": gid}).json()
        f = client.post(f"/enrollments/{s['id']}/face", headers=auth(st),
                        files={"file": ("f.jpg", photo, "image/jpeg")})
        assert f.json()["passed"], f.text
        submit_fingers(client, st, s["id"], seq)
        c = client.post(f"/enrollments/{s['id']}/commit", headers=auth(st))
        assert c.json()["status"] == "committed", c.text
    number = f"TJ-2026-{seq:05d}"
    r = client.post("/certificates", headers=auth(keys["admin"]),
                    json={"number": number, "guard_id": gid,
                          "issue_date": dt.date(2026, 1, 5).isoformat()})
    assert r.status_code == 201, r.text
    return Posted(gid, number, org_id)


@pytest.fixture
def posted(client, keys, face_jpeg) -> Posted:  # noqa: F811  (the imported fixture)
    """One enrolled, certified guard on duty at SITE for a licensed company."""
    return make_guard(client, keys, 501, make_org(client, keys, licence_no="TJ-L-1"),
                      photo=face_jpeg)
