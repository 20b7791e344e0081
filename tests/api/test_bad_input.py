"""Hostile and malformed requests get a 4xx with a code and a message; service keeps serving."""

import pytest

from tests.api.conftest import new_id
from tests.helpers import auth


@pytest.mark.parametrize(("body", "status", "code"), [
    (b"{not json", 400, "malformed_json"),
    (b'{"name": "x", "org_type": "alien", "licence_status": "licensed", "district": "a"}',
     422, "invalid_request"),
    (b'{"name": ["x"], "org_type": "unqualified", "licence_status": "licensed", "district": 5}',
     422, "invalid_request"),
    (b'{"name": "x", "org_type": "unqualified", "licence_status": "licensed", "district": "a",'
     b' "surprise": 1}', 422, "invalid_request"),
    (b"[]", 422, "invalid_request"),
])
def test_bad_bodies(client, keys, body, status, code):
    h = {**auth(keys["admin"]), "content-type": "application/json"}
    r = client.post("/organisations", content=body, headers=h)
    assert r.status_code == status
    assert r.json()["code"] == code and r.json()["message"]
    assert client.get("/healthz").status_code == 200


def test_oversized_body_is_refused_before_reading(client, keys):
    h = {**auth(keys["admin"]), "content-type": "application/json"}
    r = client.post("/organisations", content=b"{" + b" " * (2 * 1024 * 1024) + b"}", headers=h)
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"


def test_oversized_upload_is_refused(client, keys, runtime):
    big = b"a," * (runtime.settings.max_upload_bytes // 2 + 10)
    r = client.post("/guards/import", headers=auth(keys["admin"]),
                    files={"file": ("big.csv", big, "text/csv")})
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"


def test_wrong_query_types_and_unknown_routes(client, keys):
    h = auth(keys["admin"])
    r = client.get("/guards", params={"limit": "many"}, headers=h)
    assert r.status_code == 422 and r.json()["code"] == "invalid_request"
    assert client.get("/guards", params={"limit": 100000}, headers=h).status_code == 422
    assert client.get("/guards/abc", headers=h).json()["code"] == "invalid_request"
    r = client.get("/no-such-thing", headers=h)
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = client.delete("/guards", headers=h)
    assert r.status_code == 405 and r.json()["code"] == "method_not_allowed"


def test_validation_errors_do_not_echo_personal_data(client, keys):
    r = client.post("/guards", headers=auth(keys["admin"]),
                    json={"name": "张三", "id_number": 110105194912310021, "district": "x"})
    assert r.status_code == 422
    assert "110105194912310021" not in r.text


def test_an_unknown_query_parameter_is_refused_not_ignored(client, keys):
    h = auth(keys["admin"])
    client.post("/guards", headers=h, json={"name": "王某", "id_number": new_id(901),
                                            "district": "蓟州区"})
    for key in (keys["admin"], keys["district_police"]):  # a city key and a district's
        r = client.get("/guards", headers=auth(key), params={"name": "张测试"})
        assert r.status_code == 400, r.text
        assert r.json()["code"] == "unknown_query_parameter" and "name" in r.json()["message"]
    typo = client.get("/reports/coverage", headers=auth(keys["police"]),
                      params={"distrct": "蓟州区"})
    assert typo.status_code == 400 and typo.json()["code"] == "unknown_query_parameter"
    assert client.get("/guards", headers=h, params={"district": "蓟州区",
                                                    "limit": 5}).status_code == 200
    assert client.get("/reports/trend", headers=auth(keys["police"]),
                      params={"start": "2026-11-01", "end": "2026-11-02"}).status_code == 200
