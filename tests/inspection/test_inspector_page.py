"""The inspector page in a real headless Chromium: sync, offline verification with WebCrypto
Ed25519, and a spot check with a photo, against a running server."""

from __future__ import annotations

import pytest

from tests.browser import Browser
from tests.helpers import auth


@pytest.fixture
def page():
    b = Browser()
    yield b
    b.close()


def test_inspector_page_end_to_end(client, keys, posted, server, page, tmp_path,
                                   face_jpeg):
    token = client.post(f"/certificates/{posted.number}/ecert",
                        headers=auth(keys["station"])).json()["token"]
    photo = tmp_path / "probe.jpg"
    photo.write_bytes(face_jpeg)
    page.navigate(server + "/inspect")
    assert page.eval("document.title").startswith("guardid")
    # Chinese first; this test then works in English, chosen on the page's switch
    assert page.eval("document.querySelector('h1').textContent") == "现场核验"
    page.eval("document.getElementById('lang').value = 'en';"
              "document.getElementById('lang').dispatchEvent(new Event('change'))")
    assert page.eval("document.querySelector('h1').textContent") == "Spot check"
    # The outcome words live in i18n.js with every page's words: each outcome, both languages.
    from inspection.models import Outcome

    words = page.eval("OUTCOMES")
    assert set(words) == {"zh", "en"} and all(set(words[x]) == {o.value for o in Outcome}
                                              for x in words), words
    assert "OUTCOMES" in page.eval("fetch('/pages/i18n.js').then(r => r.text())")
    page.eval(f"document.getElementById('apikey').value = '{keys['inspector']}';"
              "document.getElementById('apikey').dispatchEvent(new Event('change'))")
    page.eval("document.getElementById('sync').click()")
    assert "synced: 1 keys" in page.wait_for(
        "document.getElementById('sync-status').textContent")
    page.eval(f"document.getElementById('token').value = '{token}'")
    page.eval("document.getElementById('offline').click()")
    assert page.wait_for("document.getElementById('offline-result').dataset.reason") == "ok"
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    page.eval(f"document.getElementById('token').value = '{forged}'")
    page.eval("document.getElementById('offline-result').dataset.reason = ''")
    page.eval("document.getElementById('offline').click()")
    assert page.wait_for(
        "document.getElementById('offline-result').dataset.reason") == "bad_signature"
    page.eval(f"document.getElementById('token').value = '{token}'")
    page.set_files("#face", [photo])
    page.eval("document.getElementById('site').value = '蓟州区人民医院'")
    page.eval("document.getElementById('verify').click()")
    assert page.wait_for("document.getElementById('result').dataset.outcome") == "match"
    assert "passed: the holder matches" in page.eval(
        "document.getElementById('result').textContent")
    # beside the decision: the holder as registered, photo included; what was put on record
    assert page.wait_for("!document.getElementById('holder').hidden && document"
                         ".getElementById('holder-photo').naturalWidth > 0")
    assert page.eval("document.getElementById('holder-name').textContent") == \
        f"王保安501 · {posted.number}"
    assert "津安保安服务有限公司" in page.eval(
        "document.getElementById('holder-employer').textContent")
    assert "no violation filed" in page.eval("document.getElementById('filed').textContent")
    page.eval("document.getElementById('offline').click()")
    page.eval("document.getElementById('result').scrollIntoView()")
    page.screenshot("inspector-page-match.png")
    # Only the fingertip touched the reader: no match, and the page asks for a recapture,
    # which (the whole finger this time) clears the case: nothing is recorded.
    from tests.enrollment.conftest import finger_png
    from tests.inspection.test_mismatches import OWN, tip_only

    tip, whole = tmp_path / "tip.png", tmp_path / "whole.png"
    tip.write_bytes(tip_only(OWN))
    whole.write_bytes(finger_png(OWN, 42))
    page.eval("document.getElementById('face').value = ''")
    page.set_files("#finger", [tip])
    page.eval("document.getElementById('verify').click()")
    assert page.wait_for("document.getElementById('result').dataset.mismatch") == "recapture"
    assert "attempt 2 of 3" in page.eval("document.getElementById('next-step').textContent")
    assert "nothing filed yet" in page.eval("document.getElementById('filed').textContent")
    page.screenshot("inspector-page-recapture.png")
    # the whole finger, but claimed as the right index: compared with that finger only
    page.set_files("#finger", [whole])
    page.eval("document.getElementById('finger-position').value = '2';"
              "document.getElementById('result').dataset.mismatch = '';"
              "document.getElementById('verify').click()")
    assert page.wait_for("document.getElementById('result').dataset.mismatch") == "recapture"
    assert "attempt 3 of 3" in page.eval("document.getElementById('next-step').textContent")
    page.eval("document.getElementById('finger-position').value = '7'")
    page.eval("document.getElementById('verify').click()")
    assert page.wait_for("document.getElementById('result').dataset.mismatch "
                         "=== 'cleared'"), page.eval("document.getElementById('result')"
                                                     ".textContent")
    checks = client.get("/inspections", headers=auth(keys["admin"])).json()["items"]
    attempts = [(c["attempt"], c["outcome"]) for c in checks if c["mismatch_case_id"]]
    assert sorted(attempts) == [(1, "no_match"), (2, "no_match"), (3, "match")]
    assert client.get("/violations", headers=auth(keys["admin"])).json()["items"] == []
    client.post(f"/certificates/{posted.number}/revoke", headers=auth(keys["police"]),
                json={"reason": "dismissed"})
    page.eval("document.getElementById('sync').click()")
    page.wait_for("document.getElementById('sync-status').textContent.includes('1 not valid')")
    page.eval("document.getElementById('offline').click()")
    assert page.wait_for("document.getElementById('offline-result').dataset.reason "
                         "=== 'revoked'")
    # checked online after the revocation: the violation it files is said on the page
    page.eval("document.getElementById('finger').value = '';"
              "document.getElementById('result').dataset.outcome = ''")
    page.set_files("#face", [photo])
    page.eval("document.getElementById('verify').click()")
    assert page.wait_for("document.getElementById('result').dataset.outcome") == \
        "certificate_revoked"
    (v,) = client.get("/violations", headers=auth(keys["admin"])).json()["items"]
    assert page.wait_for("document.getElementById('filed').dataset.violations") == str(v["id"])
    assert "violation filed" in page.eval("document.getElementById('filed').textContent")
