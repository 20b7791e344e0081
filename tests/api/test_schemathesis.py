"""A bounded schemathesis run over every operation of the OpenAPI document.

Every operation, no exclusions, a few derandomised examples each (fixed seed), once with an
unscoped admin key and once with an admin key scoped to one district. Any 5xx, any response
whose status is not documented, and any body that does not match its documented schema fails.
"""

from __future__ import annotations

import datetime as dt

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, seed, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from registry import apikeys, idnumber
from registry.models import Role
from tests.helpers import auth

# A few examples per operation keep the run near a minute on two cores (61 operations, 2 keys).
EXAMPLES_PER_OPERATION = 6
SEED = 18
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


@pytest.fixture
def api_schema(runtime):
    """The app's OpenAPI schema, served once /readyz says the app is ready."""
    app = create_app(runtime=runtime)
    with TestClient(app) as client:
        assert client.get("/readyz").json()["status"] == "ready"
        yield schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture
def tokens(client, runtime):
    """An unscoped and a district-scoped admin token, and a small world to find by id."""
    with runtime.sessions() as s:
        out = [apikeys.create(db_session=s, role=Role.admin, name="st-admin").token,
               apikeys.create(db_session=s, role=Role.admin, name="st-scoped",
                              district="河西区").token]
        s.commit()
    org = client.post("/organisations", headers=auth(out[0]), json={
        "name": "津安保安", "org_type": "security_company", "licence_status": "licensed",
        "district": "河西区"}).json()
    guard = client.post("/guards", headers=auth(out[0]), json={
        "name": "保安甲", "id_number": idnumber.make("120103", dt.date(1985, 3, 7), 11, male=True),
        "employer_id": org["id"]})
    assert guard.status_code == 201, guard.text
    return out


@pytest.fixture(autouse=True)
def _node_id_alias(request):
    """schemathesis 4.32 renames ``node._nodeid`` for its report; pytest 9.2 stores ``_id``."""
    request.node._nodeid = request.node.nodeid


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, deadline=None,
          suppress_health_check=list(HealthCheck), database=None)
@seed(SEED)
def test_every_operation_conforms(case, tokens):
    for token in tokens:
        case.call_and_validate(headers=auth(token), checks=CHECKS)
