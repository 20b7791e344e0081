"""guard_spans, the dated state reports read, stay equal to a rebuild from the history they
derive from, whatever path changed the history (ORM fixtures, the API, a rollback)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from biometrics.models import Biometric, Modality
from fixtures import world
from registry.models import GuardEvent
from reporting import spans
from reporting.models import OPEN_END, GuardSpan
from tests.helpers import auth
from tests.reporting.test_reports import get

COLUMNS = list(GuardSpan.__table__.c)


def _kept(runtime) -> list[tuple]:
    with runtime.sessions() as s:
        return sorted(tuple(r) for r in s.execute(select(*COLUMNS)))


def _rebuilt(runtime) -> list[tuple]:
    with runtime.sessions() as s:
        spans.rebuild(s.connection())
        s.commit()
    return _kept(runtime)


def _coverage(client, keys, **params) -> dict:
    return get(client, keys["police"], "/reports/coverage", **params).json()


def test_spans_of_one_guard_follow_its_history():
    """One span per distinct instant; facts at one instant give the state after all of them."""
    t1, t2, t3 = (dt.datetime(2026, 11, d, 9) for d in (1, 2, 3))
    facts = [(t1, 0, 1, "employer_id", "7"), (t1, 0, 2, "duty_status", "on_duty"),
             (t2, 1, 5, "face", 0), (t2, 1, 6, "finger", 2), (t2, 1, 7, "finger", 2),
             (t2, 2, 1, "exception", 7), (t2, 3, 1, "certificate", (4, "issued")),
             (t3, 0, 3, "duty_status", "off_duty"), (t3, 3, 2, "certificate", (4, "revoke"))]
    rows = spans.spans_of(9, facts)
    assert [(r["valid_from"], r["valid_to"]) for r in rows] == [(t1, t2), (t2, t3),
                                                                (t3, OPEN_END)]
    first, second, third = rows
    assert first["employer_id"] == 7 and first["on_duty_since"] == t1
    assert first["face_at"] is None and first["fingers"] == 0 and first["certificate"] is None
    assert second["face_at"] == t2 and second["fingers"] == 1 and second["fingers_exc"] == 2
    assert second["certificate"] == 0 and second["on_duty_since"] == t1
    assert third["duty_status"] == "off_duty" and third["on_duty_since"] is None
    assert third["certificate"] == 2 and third["face_at"] == t2


def test_spans_kept_in_step_equal_a_rebuild(client, keys, runtime):
    with runtime.sessions() as s:
        ids = world.build(s, runtime.vault)
    kept = _kept(runtime)
    assert len({r[1] for r in kept}) == 8  # every guard of the world (g1-g8) has spans
    assert _rebuilt(runtime) == kept
    before = _coverage(client, keys)
    past = _coverage(client, keys, date="2026-11-20")

    # Through the API: a missing guard goes off duty; a guard's certificate is revoked.
    r = client.patch(f"/guards/{ids['g3']}", json={"duty_status": "off_duty"},
                     headers=auth(keys["admin"]))
    assert r.status_code == 200, r.text
    r = client.post("/certificates/W-0001/revoke", json={"reason": "test"},
                    headers=auth(keys["admin"]))
    assert r.status_code == 200, r.text
    # Through the ORM: guard 4 gets its fingers.
    with runtime.sessions() as s:
        for pos in (2, 7):
            s.add(Biometric(guard_id=ids["g4"], modality=Modality.finger, position=pos,
                            template_enc=b"x", quality=80.0, model_id="t"))
        s.commit()
    # A rolled-back change leaves nothing behind.
    with runtime.sessions() as s:
        s.add(GuardEvent(guard_id=ids["g1"], kind="duty_status", value="off_duty"))
        s.flush()
        s.rollback()

    kept = _kept(runtime)
    assert _rebuilt(runtime) == kept
    now = _coverage(client, keys)
    assert now["total"]["on_duty"] == before["total"]["on_duty"] - 1
    assert now["total"]["both"] == before["total"]["both"] + 1
    assert ids["g3"] not in {m["guard_id"] for m in now["missing"]}
    assert now["missing_count"] == before["missing_count"] - 2
    assert _coverage(client, keys, date="2026-11-20") == past  # the past does not move
    table = client.get("/reports/campaign", headers=auth(keys["police"])).json()
    old = client.get("/reports/campaign", headers=auth(keys["police"]),
                     params={"date": "2026-11-20"}).json()
    assert table["cells"]["7"] == old["cells"]["7"] - 1  # holders of a valid certificate


def test_a_factory_made_at_a_freed_ones_address_still_keeps_spans(runtime):
    """Each new session factory gets the span hooks, also one that CPython allocates where a
    freed factory lived: SQLAlchemy's event registry keys a listener by the factory's id()
    and keeps the key after the factory is gone, so a guard that asks it "installed?" was
    fooled, and that factory's commits wrote no spans (a test's reports then read zero)."""
    from bootstrap import session_factory
    from reporting import coverage

    seen, reused = set(), None
    for _ in range(500):  # a freed factory's address comes back within a few tries
        factory = session_factory(runtime.engine)
        if id(factory) in seen:
            reused = factory
            break
        seen.add(id(factory))
        del factory
    assert reused is not None, "no address was reused: the case this test is about"
    with reused() as s:
        world.build(s, runtime.vault)
    with reused() as s:
        total = coverage.coverage(s, day=dt.date(2026, 11, 20), unit=None,
                                  policy=coverage.Policy())["total"]
    assert (total["on_duty"], total["face"], total["fingerprints"], total["both"]) == \
        (5, 4, 3, 3)
