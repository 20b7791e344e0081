"""The supervisor's review page in a real headless Chromium: a possible duplicate and a
suspected mismatch decided on the page with a reason, the evidence side by side; the
outcomes checked through the API and the campaign table; another district sees neither."""

from __future__ import annotations

import pytest

from registry import apikeys
from registry.models import Role
from tests.browser import Browser
from tests.enrollment.conftest import submit_fingers
from tests.helpers import auth
from tests.inspection.test_mismatches import IMPOSTOR, three_failures

CASES = "[...document.querySelectorAll('#{box} .case')]"


@pytest.fixture
def page():
    b = Browser(("--window-size=1200,1600",))
    yield b
    b.close()


def _duplicate(client, keys, posted, face_jpeg) -> int:
    """The posted guard's face and fingers enrolled again under another ID: a review case."""
    from tests.api.conftest import new_id

    st = keys["station"]
    s = client.post("/enrollments", headers=auth(st), json={"guard": {
        "name": "李替身", "id_number": new_id(777), "district": "蓟州区"}}).json()
    assert client.post(f"/enrollments/{s['id']}/face", headers=auth(st),
                       files={"file": ("f.jpg", face_jpeg, "image/jpeg")}).json()["passed"]
    submit_fingers(client, st, s["id"], 501, impression_seed=2)
    hit = client.post(f"/enrollments/{s['id']}/commit", headers=auth(st)).json()
    assert hit["status"] == "review", hit
    return hit["review_case_id"]


def _load(page, key):
    page.eval("document.getElementById('reviews').dataset.loaded = '';"
              "document.getElementById('mismatches').dataset.loaded = '';"
              f"document.getElementById('apikey').value = '{key}';"
              "document.getElementById('load').click()")
    page.wait_for("document.getElementById('reviews').dataset.loaded === 'true' && "
                  "document.getElementById('mismatches').dataset.loaded === 'true'")


def _decide(page, box, case_id, choice, reason):
    case = f"document.querySelector(\"#{box} .case[data-case-id='{case_id}']\")"
    page.eval(f"{case}.querySelector('textarea').value = {reason!r};"
              f"{case}.querySelector(\"button[data-decision='{choice}']\").click()")
    return page.wait_for(f"{case}.dataset.status !== 'open' && {case}.dataset.status !== "
                         f"'suspected' && {case}.querySelector('.outcome').textContent")


def test_review_page_decides_a_duplicate_and_a_mismatch(client, keys, posted, face_jpeg,
                                                        runtime, server, page):
    review_id = _duplicate(client, keys, posted, face_jpeg)
    mismatch_id = three_failures(client, keys, posted, IMPOSTOR)["mismatch_case_id"]
    with runtime.sessions() as s:
        other = apikeys.create(db_session=s, role=Role.admin, name="hp-admin",
                               district="和平区").token
        s.commit()
    page.navigate(server + "/review")
    assert page.eval("[...document.querySelectorAll('script')].every(s => s.src)") is True
    _load(page, other)  # another district's supervisor: neither case is listed
    assert page.eval(CASES.format(box="reviews") + ".length") == 0
    assert page.eval(CASES.format(box="mismatches") + ".length") == 0
    _load(page, keys["inspector"])  # a role that may not decide: said in words
    assert "无权" in page.eval("document.getElementById('mismatches').textContent")
    _load(page, keys["admin"])
    assert page.eval(CASES.format(box="reviews") + ".map(c => +c.dataset.caseId)") == [
        review_id]
    assert page.eval(CASES.format(box="mismatches") + ".map(c => +c.dataset.caseId)") == [
        mismatch_id]
    # every evidence image decoded in the browser: 3 pairs (face, two fingers), 3 probes + 2
    page.wait_for("[...document.querySelectorAll('img')].length === 11 && [...document"
                  ".querySelectorAll('img')].every(i => i.complete && i.naturalWidth > 0)")
    # beside the evidence: who each case is about, by name and employer, not by id alone
    rev = f"document.querySelector(\"#reviews .case[data-case-id='{review_id}']\")"
    names = page.eval(f"[...{rev}.querySelectorAll('.person-name')].map(n => n.textContent)")
    assert names == ["李替身", "王保安501"]
    mis = f"document.querySelector(\"#mismatches .case[data-case-id='{mismatch_id}']\")"
    assert page.eval(f"{mis}.querySelector('.person-name').textContent") == "王保安501"
    assert "津安保安服务有限公司" in page.eval(f"{mis}.querySelector('.person-employer')"
                                           ".textContent")
    page.screenshot("review-page.png")
    # a decision needs a reason: nothing is sent without one
    page.eval(f"document.querySelector(\"#mismatches .case[data-case-id='{mismatch_id}'] "
              "button[data-decision='confirm']\").click()")
    assert listed_status(client, keys, mismatch_id) == "suspected"
    assert "不同的人" in _decide(page, "reviews", review_id, "different_people",
                              "身份证件核对无误 checked the ID documents")
    assert "违规记录" in _decide(page, "mismatches", mismatch_id, "confirm",
                             "另一人的指纹 another man's finger")
    page.screenshot("review-page-decided.png")
    # Chinese first, English on the switch (the queues are drawn again, now empty)
    page.eval("document.getElementById('reviews').dataset.loaded = '';"
              "document.getElementById('lang').value = 'en';"
              "document.getElementById('lang').dispatchEvent(new Event('change'))")
    page.wait_for("document.getElementById('reviews').dataset.loaded === 'true'")
    assert page.eval("document.querySelector('h1').textContent") == "Supervisor review"
    assert "nothing waiting" in page.eval("document.getElementById('reviews').textContent")
    (case,) = client.get("/reviews", headers=auth(keys["admin"]),
                         params={"status": "different_people"}).json()
    assert case["id"] == review_id and "checked the ID documents" in case["note"]
    assert listed_status(client, keys, mismatch_id) == "confirmed"
    (v,) = client.get("/violations", headers=auth(keys["admin"])).json()["items"]
    assert v["category"] == "impersonation" and v["guard_id"] == posted.guard_id
    table = client.get("/reports/campaign", headers=auth(keys["police"])).json()
    assert table["cells"]["15"] == 1 and table["pending_suspected_mismatches"]["count"] == 0


def listed_status(client, keys, case_id) -> str:
    """Return a mismatch case's status as the API reports it."""
    r = client.get(f"/mismatches/{case_id}", headers=auth(keys["admin"]))
    assert r.status_code == 200, r.text
    return r.json()["status"]
