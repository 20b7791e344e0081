"""Registering in district A an ID number held in district B: refused, untold, referred."""

import re

import pytest

from registry import apikeys
from registry.models import Role
from tests.api.conftest import new_id
from tests.helpers import auth

A, B = "和平区", "河西区"


@pytest.fixture
def scoped(runtime):
    """Station and admin keys scoped to A and to B."""
    out = {}
    with runtime.sessions() as s:
        for role in (Role.station, Role.admin):
            for district in (A, B):
                out[(role.value, district)] = apikeys.create(
                    db_session=s, role=role, name=f"{role.value}-{district}",
                    district=district).token
        s.commit()
    return out


@pytest.fixture
def held_in_b(client, scoped):
    """A guard of district B, with a certificate: (guard id, ID number)."""
    number = new_id(71)
    r = client.post("/guards", headers=auth(scoped[("station", B)]),
                    json={"name": "河西保安", "id_number": number, "district": B})
    assert r.status_code == 201, r.text
    return r.json()["id"], number


def assert_untold(response, guard_id):
    """The refusal names no holder: no district, name, internal id or certificate."""
    body = response.json()
    assert response.status_code == 409 and body["code"] == "id_number_registered_elsewhere"
    assert set(body) <= {"code", "message"}
    assert B not in response.text and "河西保安" not in response.text
    assert not re.search(r"\d", response.text), body  # no ids of any kind


def referrals(client, keys):
    r = client.get("/audit", headers=auth(keys["auditor"]),
                   params={"action": "guard.registration_referred"})
    assert r.status_code == 200
    return r.json()


def test_registering_another_districts_id_number_is_refused_untold_and_referred(
        client, keys, scoped, held_in_b):
    gid, number = held_in_b
    r = client.post("/guards", headers=auth(scoped[("station", A)]),
                    json={"name": "冒名", "id_number": number, "district": A})
    assert_untold(r, gid)
    [entry] = referrals(client, keys)  # raised to the city level: the unscoped auditor sees it
    assert entry["resource_type"] == "guard" and entry["resource_id"] == str(gid)
    assert entry["detail"] == {"requested_district": A}
    assert client.get("/guards", headers=auth(keys["admin"])).json()["total"] == 1
    # Within B, and for an unscoped key, nothing changes: a plain conflict, no referral.
    again = client.post("/guards", headers=auth(scoped[("station", B)]),
                        json={"name": "河西保安", "id_number": number, "district": B})
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    opened = client.post("/enrollments", headers=auth(scoped[("station", B)]),
                         json={"guard": {"name": "河西保安", "id_number": number, "district": B}})
    assert opened.status_code == 201 and opened.json()["guard_id"] == gid
    unscoped = client.post("/guards", headers=auth(keys["admin"]),
                           json={"name": "河西保安", "id_number": number, "district": A})
    assert unscoped.status_code == 409 and unscoped.json()["code"] == "conflict"
    assert len(referrals(client, keys)) == 1


def test_opening_an_enrolment_for_it_names_no_guard(client, keys, scoped, held_in_b):
    gid, number = held_in_b
    r = client.post("/enrollments", headers=auth(scoped[("station", A)]),
                    json={"guard": {"name": "冒名", "id_number": number, "district": A}})
    assert_untold(r, gid)
    assert len(referrals(client, keys)) == 1
    assert client.get("/guards", headers=auth(keys["admin"])).json()["total"] == 1


def test_a_district_import_row_for_it_is_refused_untold_and_referred(client, keys, scoped,
                                                                     held_in_b):
    gid, number = held_in_b
    csv = f"姓名,身份证号,区\n冒名,{number},{A}\n新人,{new_id(73)},{A}\n".encode()
    report = client.post("/guards/import", headers=auth(scoped[("admin", A)]),
                         files={"file": ("g.csv", csv, "text/csv")}).json()
    assert (report["created"], report["failed"]) == (1, 1)
    [error] = report["errors"]
    assert error["code"] == "id_number_registered_elsewhere"
    assert B not in error["message"] and not re.search(r"\d", error["message"])
    assert [e["resource_id"] for e in referrals(client, keys)] == [str(gid)]
