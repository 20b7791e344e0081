from sqlalchemy import select

from registry.models import GuardEvent
from tests.api.conftest import new_id
from tests.helpers import auth


def test_guard_is_created_masked_with_derived_fields(client, keys, world):
    g = world["guards"][0]
    assert g["district"] == "蓟州区"  # inherited from the employer
    assert g["id_number_masked"].startswith("120225") and "*" in g["id_number_masked"]
    assert g["birth_date"] == "1985-03-07" and g["gender"] == "male"
    assert "id_number" not in g


def test_duplicate_id_number_is_a_conflict(client, keys, world):
    r = client.post("/guards", headers=auth(keys["admin"]), json={
        "name": "又一个", "id_number": new_id(1), "district": "蓟州区"})
    assert r.status_code == 409 and r.json()["code"] == "conflict"


def test_invalid_id_number_gets_its_reason(client, keys):
    r = client.post("/guards", headers=auth(keys["admin"]), json={
        "name": "x", "id_number": "110105194912310021", "district": "蓟州区"})
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_id_number"
    assert r.json()["details"]["reason"] == "check_digit"


def test_list_filters_and_pagination(client, keys, world):
    h = auth(keys["admin"])
    page = client.get("/guards", headers=h, params={"limit": 2}).json()
    assert page["total"] == 3 and len(page["items"]) == 2
    page2 = client.get("/guards", headers=h, params={"limit": 2, "offset": 2}).json()
    assert [g["id"] for g in page2["items"]] == [world["guards"][2]["id"]]
    on = client.get("/guards", headers=h, params={"duty_status": "on_duty"}).json()
    assert {g["id"] for g in on["items"]} == {world["guards"][0]["id"], world["guards"][2]["id"]}
    by_emp = client.get("/guards", headers=h,
                        params={"employer_id": world["orgs"][1]["id"]}).json()
    assert by_emp["total"] == 1
    by_district = client.get("/guards", headers=h, params={"district": "河西区"}).json()
    assert by_district["total"] == 1


def test_search_by_id_number_uses_the_keyed_hash(client, keys, world):
    r = client.get("/guards", headers=auth(keys["admin"]), params={"id_number": new_id(3)})
    assert [g["id"] for g in r.json()["items"]] == [world["guards"][1]["id"]]


def test_district_scoped_key_sees_only_its_district(client, keys, world):
    h = auth(keys["district_police"])
    page = client.get("/guards", headers=h).json()
    assert {g["district"] for g in page["items"]} == {"蓟州区"} and page["total"] == 2
    other = world["guards"][2]["id"]
    assert client.get(f"/guards/{other}", headers=h).status_code == 404
    assert client.get("/guards", headers=h, params={"district": "河西区"}).status_code == 403


def test_updates_keep_dated_history(client, keys, world, session):
    gid = world["guards"][1]["id"]
    r = client.patch(f"/guards/{gid}", headers=auth(keys["admin"]),
                     json={"duty_status": "on_duty", "post_site": "东门"})
    assert r.status_code == 200 and r.json()["duty_status"] == "on_duty"
    kinds = session.scalars(select(GuardEvent.kind).where(GuardEvent.guard_id == gid)).all()
    assert kinds.count("duty_status") == 2 and kinds.count("post_site") == 2


def test_certificate_lifecycle_is_event_sourced(client, keys, world):
    h = auth(keys["admin"])
    gid = world["guards"][0]["id"]
    r = client.post("/certificates", headers=h,
                    json={"number": "JBZ0000001", "guard_id": gid, "issue_date": "2024-01-02"})
    assert r.status_code == 201 and r.json()["status"] == "valid"
    r = client.post("/certificates/JBZ0000001/suspend", headers=auth(keys["police"]),
                    json={"reason": "background re-check"})
    assert r.json()["status"] == "suspended"
    assert client.post("/certificates/JBZ0000001/reinstate", headers=h,
                       json={"reason": "cleared"}).json()["status"] == "valid"
    assert client.post("/certificates/JBZ0000001/revoke", headers=h,
                       json={"reason": "criminal record"}).json()["status"] == "revoked"
    r = client.post("/certificates/JBZ0000001/reinstate", headers=h, json={"reason": "x"})
    assert r.status_code == 409 and r.json()["code"] == "invalid_transition"
    events = client.get("/certificates/JBZ0000001/events", headers=h).json()
    assert [e["event"] for e in events] == ["issued", "suspend", "reinstate", "revoke"]
    revoked = client.get("/certificates", headers=h, params={"status": "revoked"}).json()
    assert revoked["total"] == 1
    guards = client.get("/guards", headers=h, params={"certificate_status": "revoked"}).json()
    assert [g["id"] for g in guards["items"]] == [gid]


def test_organisation_update_and_blacklist(client, keys, world):
    oid = world["orgs"][0]["id"]
    r = client.patch(f"/organisations/{oid}", headers=auth(keys["admin"]), json={
        "list_status": "black", "list_reason": "unlicensed dispatch", "list_date": "2025-01-05"})
    assert r.status_code == 200 and r.json()["list_status"] == "black"
    r = client.get("/organisations", headers=auth(keys["police"]),
                   params={"org_type": "property_management"})
    assert r.json()["total"] == 1


def test_reads_and_writes_are_audited_and_chain_verifies(client, keys, world):
    gid = world["guards"][0]["id"]
    client.get(f"/guards/{gid}", headers=auth(keys["inspector"]))
    entries = client.get("/audit", headers=auth(keys["auditor"]),
                         params={"action": "guard.read"}).json()
    assert entries[0]["resource_id"] == str(gid) and entries[0]["role"] == "inspector"
    assert entries[0]["client"]
    creates = client.get("/audit", headers=auth(keys["auditor"]),
                         params={"action": "guard.create"}).json()
    assert len(creates) == 3
    v = client.get("/audit/verify", headers=auth(keys["auditor"])).json()
    assert v["ok"] is True and v["checked"] > 5
