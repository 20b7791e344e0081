"""The whole mismatch journey in a real headless Chromium, across two users' pages: an
inspector's spot check on /inspect fails, is recaptured on the page until it becomes a
suspected mismatch (twice: two cases); a supervisor on /review confirms one and dismisses the
other. Only the confirmed one is a violation, counted in column 15 of the campaign table and
traceable to its record there; the dismissed one is counted nowhere. Screenshots of each step
are kept (tests/browser.py: ARTIFACTS)."""

from __future__ import annotations

import pytest

from inspection.mismatches import MAX_ATTEMPTS
from tests.browser import Browser
from tests.helpers import auth
from tests.inspection.test_mismatches import IMPOSTOR
from tests.inspection.test_review_page import _decide, _load


@pytest.fixture
def page():
    b = Browser(("--window-size=1200,1600",))
    yield b
    b.close()


def _suspected_on_the_inspect_page(page, posted, finger, shot: str) -> int:
    """Check the posted guard with ``finger`` until the page reports a suspected mismatch;
    return its case id."""
    page.set_files("#finger", [finger])
    page.eval("document.getElementById('finger-position').value = '7'")
    for attempt in range(1, MAX_ATTEMPTS + 1):
        page.eval("document.getElementById('result').dataset.mismatch = '';"
                  "document.getElementById('verify').click()")
        status = page.wait_for("document.getElementById('result').dataset.mismatch", 60)
        if attempt < MAX_ATTEMPTS:
            assert status == "recapture", page.eval("document.getElementById('result')"
                                                    ".textContent")
            # in Chinese, the page's first language
            assert f"请重新采集（第 {attempt + 1} 次，共 {MAX_ATTEMPTS} 次）" in page.eval(
                "document.getElementById('next-step').textContent")
            assert "未记违规，等待重新采集" in page.eval("document.getElementById('filed')"
                                                  ".textContent")
    assert status == "suspected"
    page.screenshot(shot)
    return int(page.eval("document.getElementById('filed').dataset.mismatch"))


def test_spot_check_mismatch_recaptured_then_confirmed_or_dismissed(client, keys, posted,
                                                                     server, page, tmp_path):
    finger = tmp_path / "impostor.png"
    finger.write_bytes(IMPOSTOR)
    page.navigate(server + "/inspect")
    page.eval(f"document.getElementById('apikey').value = '{keys['inspector']}';"
              "document.getElementById('apikey').dispatchEvent(new Event('change'));"
              f"document.getElementById('number').value = '{posted.number}';"
              "document.getElementById('site').value = '蓟州区人民医院'")
    first = _suspected_on_the_inspect_page(page, posted, finger, "journey-1-suspected.png")
    second = _suspected_on_the_inspect_page(page, posted, finger, "journey-2-suspected.png")
    assert first != second
    # nothing is counted while the supervisor has not decided: both stand beside the table
    t = client.get("/reports/campaign", headers=auth(keys["police"])).json()
    assert t["cells"]["15"] == 0 and t["pending_suspected_mismatches"]["count"] == 2
    page.navigate(server + "/review")
    _load(page, keys["police"])
    cases = page.eval("[...document.querySelectorAll('#mismatches .case')]"
                      ".map(c => +c.dataset.caseId)")
    assert cases == [first, second]
    # the supervisor sees whom the evidence is about: the holder's name and employer
    holder = f"document.querySelector(\"#mismatches .case[data-case-id='{first}'] .person\")"
    assert page.eval(f"{holder}.querySelector('.person-name').textContent") == "王保安501"
    assert "津安保安服务有限公司" in page.eval(f"{holder}.textContent")
    page.screenshot("journey-3-review.png")
    assert "违规记录" in _decide(page, "mismatches", first, "confirm",
                             "指纹与登记的不是同一人 not the enrolled man's finger")
    assert "不记录" in _decide(page, "mismatches", second, "dismiss",
                            "手指受伤，复核照片为本人 injured finger, the photo is his")
    page.screenshot("journey-4-decided.png")
    (v,) = client.get("/violations", headers=auth(keys["admin"])).json()["items"]
    assert v["category"] == "impersonation" and v["guard_id"] == posted.guard_id
    t = client.get("/reports/campaign", headers=auth(keys["police"])).json()
    assert t["cells"]["15"] == 1 and t["pending_suspected_mismatches"]["count"] == 0
    cell = client.get("/reports/campaign/cells/15", headers=auth(keys["police"])).json()
    assert cell["records"] == [{"type": "violation", "id": v["id"]}]
    decided = {c["id"]: c for c in client.get(
        "/mismatches", headers=auth(keys["admin"]), params={"status": "dismissed"}).json()[
        "items"]}
    assert list(decided) == [second] and decided[second]["violation_id"] is None
