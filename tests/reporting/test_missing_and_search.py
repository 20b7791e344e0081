"""The dashboard's missing list (paged on the server) and guard search (name, certificate
number, ID number by its keyed hash), each tried from another district's key."""

from __future__ import annotations

import datetime as dt
import json
import logging

from sqlalchemy import text

from registry import apikeys, idnumber
from registry.models import Role
from tests.helpers import auth
from tests.reporting.test_reports import ids  # noqa: F401

DAY = {"date": "2026-11-20"}


def _heping_police(runtime) -> str:
    with runtime.sessions() as s:
        token = apikeys.create(db_session=s, role=Role.police, name="hp", district="和平区").token
        s.commit()
    return token


def _audit_text(runtime) -> str:
    with runtime.sessions() as s:
        return json.dumps([list(map(str, r)) for r in s.execute(
            text("SELECT * FROM audit_log")).all()], ensure_ascii=False)


def test_missing_list_pages_on_the_server_and_stays_in_its_district(
        client, keys, ids, runtime):  # noqa: F811
    h = auth(keys["police"])
    first = client.get("/reports/missing", headers=h, params={**DAY, "limit": 1})
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["total"] == 2 and body["limit"] == 1 and len(body["items"]) == 1
    (row,) = body["items"]
    assert row["guard_id"] == ids["g3"] and row["missing"] == ["face", "fingerprints"]
    assert row["employer"] == "乙自招单位" and row["name"] == "世界302"
    assert row["on_duty_since"] == "2026-11-05T09:00:00Z"
    (second,) = client.get("/reports/missing", headers=h,
                           params={**DAY, "limit": 1, "offset": 1}).json()["items"]
    assert second["guard_id"] == ids["g4"] and second["missing"] == ["fingerprints"]
    # a past day from the same dated history: on the 10th three on-duty guards lacked something
    assert client.get("/reports/missing", headers=h,
                      params={"date": "2026-11-10"}).json()["total"] == 4
    mine = client.get("/reports/missing", headers=auth(keys["district_police"]), params=DAY)
    assert [m["guard_id"] for m in mine.json()["items"]] == [ids["g3"], ids["g4"]]
    other = _heping_police(runtime)
    theirs = client.get("/reports/missing", headers=auth(other), params=DAY).json()
    assert theirs["total"] == 0 and theirs["items"] == []
    r = client.get("/reports/missing", headers=auth(other), params={**DAY, "district": "蓟州区"})
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert client.get("/reports/missing", headers=auth(keys["inspector"])).status_code == 403
    assert str(ids["g3"]) in _audit_text(runtime) and "report.missing" in _audit_text(runtime)


def test_guard_search_by_name_certificate_and_id_number(
        client, keys, ids, runtime, caplog):  # noqa: F811
    h = auth(keys["police"])

    def found(key, **terms):
        r = client.post("/guards/search", headers=auth(key), json=terms)
        assert r.status_code == 200, r.text
        return [g["id"] for g in r.json()["items"]]

    assert found(keys["police"], name="世界30", limit=3) == [ids["g1"], ids["g2"], ids["g3"]]
    hit = client.post("/guards/search", headers=h, json={"certificate_number": "w\u20140001"})
    (g1,) = hit.json()["items"]
    assert g1["id"] == ids["g1"] and g1["certificate_numbers"] == ["W-0001"]
    assert g1["employer_name"] == "甲保安公司" and "id_hash" not in g1
    raw = idnumber.make("120225", dt.date(1990, 1, 1), 2 * 300 + 1, male=True)
    # written with full-width digits and spaces, as registration would accept it
    wide = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in raw)
    wide = f" {wide[:6]} {wide[6:14]} {wide[14:].lower()} "
    caplog.set_level(logging.DEBUG)
    assert found(keys["police"], id_number=wide) == [ids["g1"]]
    assert found(keys["police"], id_number=raw, name="世界301") == []  # every term must hold
    assert raw not in _audit_text(runtime) and raw not in caplog.text
    # another district's key finds nothing of this one, and may not ask for it by name
    other = _heping_police(runtime)
    assert found(other, id_number=raw) == []
    assert found(other, name="世界") == [ids["g5"]]
    assert found(other, certificate_number="W-0001") == []
    r = client.post("/guards/search", headers=auth(other),
                    json={"name": "世界", "district": "蓟州区"})
    assert r.status_code == 403
    r = client.post("/guards/search", headers=h, json={})
    assert r.status_code == 422 and r.json()["code"] == "search_term_required"
    r = client.post("/guards/search", headers=h, json={"nme": "x"})
    assert r.status_code == 422
    assert client.post("/guards/search", headers=auth(keys["auditor"]),
                       json={"name": "世界"}).status_code == 403
    assert '"by_id_number": true' in _audit_text(runtime).replace('\\"', '"')


def test_a_30_day_trend_is_one_coverage_query(runtime, ids):  # noqa: F811
    import pytest

    from registry.audit import Actor
    from reporting import service

    with runtime.sessions() as s:
        driver = s.connection().connection.driver_connection
        if not hasattr(driver, "set_trace_callback"):
            pytest.skip("statements are counted with SQLite's trace callback")
        seen: list[str] = []
        driver.set_trace_callback(seen.append)
        try:
            points = service.trend_range(
                db_session=s, settings=runtime.settings, district=None,
                actor=Actor(key_id="t", role="police", district=None),
                start=dt.date(2026, 10, 22), end=dt.date(2026, 11, 20))
        finally:
            driver.set_trace_callback(None)
    assert len(points) == 30 and points[-1]["rate"] == 0.6
    assert points[19]["as_of"] == "2026-11-10" and points[19]["rate"] == round(2 / 6, 4)
    assert sum("guard_spans" in q for q in seen) == 1, seen
