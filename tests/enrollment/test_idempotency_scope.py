"""Idempotency keys belong to the API key that sent them, however it was sent."""

import pytest

from registry import apikeys
from registry.models import Role
from tests.api.conftest import new_id
from tests.helpers import auth

A, B = "和平区", "河西区"


@pytest.fixture
def stations(runtime):
    """Two station keys, one per district: {district: token}."""
    with runtime.sessions() as s:
        out = {d: apikeys.create(db_session=s, role=Role.station, name=f"st-{d}",
                                 district=d).token for d in (A, B)}
        s.commit()
    return out


@pytest.fixture
def guards(client, keys):
    """One guard per district: {district: guard id}."""
    out = {}
    for i, d in enumerate((A, B)):
        r = client.post("/guards", headers=auth(keys["admin"]),
                        json={"name": f"保安{i}", "id_number": new_id(81 + 2 * i), "district": d})
        assert r.status_code == 201, r.text
        out[d] = r.json()["id"]
    return out


def api_key(token, idem):
    return {"X-Api-Key": token, "Idempotency-Key": idem}


def test_a_replay_never_crosses_callers(client, stations, guards):
    body = {"guard_id": guards[B]}
    first = client.post("/enrollments", headers=api_key(stations[B], "k1"), json=body)
    assert first.status_code == 201, first.text
    # A sends B's request with B's key: it is A's own request, so the district check applies.
    stolen = client.post("/enrollments", headers=api_key(stations[A], "k1"), json=body)
    assert stolen.status_code == 404 and "idempotent-replay" not in stolen.headers


def test_the_same_key_from_two_callers_gives_independent_results(client, stations, guards):
    a = client.post("/enrollments", headers=api_key(stations[A], "shared"),
                    json={"guard_id": guards[A]})
    b = client.post("/enrollments", headers=api_key(stations[B], "shared"),
                    json={"guard_id": guards[B]})
    assert a.status_code == b.status_code == 201, (a.text, b.text)  # B is not blocked by A
    assert "idempotent-replay" not in b.headers
    assert (a.json()["guard_id"], b.json()["guard_id"]) == (guards[A], guards[B])
    assert a.json()["id"] != b.json()["id"]


def test_a_retry_replays_for_the_same_key_id_whichever_header_carries_it(client, stations,
                                                                         guards):
    body = {"guard_id": guards[A]}
    first = client.post("/enrollments", headers=api_key(stations[A], "retry"), json=body)
    for headers in (api_key(stations[A], "retry"),
                    {**auth(stations[A]), "Idempotency-Key": "retry"}):
        again = client.post("/enrollments", headers=headers, json=body)
        assert again.json() == first.json() and again.headers["idempotent-replay"] == "true"
    reused = client.post("/enrollments", headers=api_key(stations[A], "retry"),
                         json={"guard_id": guards[B]})
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"
