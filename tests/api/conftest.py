import datetime as dt

import pytest

from registry import idnumber
from tests.helpers import auth


def new_id(seq: int, *, region="120225", male=True) -> str:
    """A valid synthetic ID number."""
    return idnumber.make(region, dt.date(1985, 3, 7), seq, male=male)


@pytest.fixture
def world(client, keys):
    """Two organisations in two districts and three guards, created through the API."""
    admin = auth(keys["admin"])
    org1 = client.post("/organisations", headers=admin, json={
        "name": "津安保安", "org_type": "security_company", "licence_no": "JA-1",
        "licence_status": "licensed", "district": "蓟州区"}).json()
    org2 = client.post("/organisations", headers=admin, json={
        "name": "河西物业", "org_type": "property_management", "licence_no": "BA-2",
        "licence_status": "filed", "district": "河西区"}).json()
    guards = []
    for i, (org, duty) in enumerate([(org1, "on_duty"), (org1, "off_duty"), (org2, "on_duty")]):
        r = client.post("/guards", headers=admin, json={
            "name": f"保安{i}", "id_number": new_id(i * 2 + 1), "employer_id": org["id"],
            "duty_status": duty, "post_site": f"岗{i}"})
        assert r.status_code == 201, r.text
        guards.append(r.json())
    return {"orgs": [org1, org2], "guards": guards}
