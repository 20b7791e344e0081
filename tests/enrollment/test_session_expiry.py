"""Stale enrolment sessions are closed on the server: a session left open longer than
GUARDID_ENROLMENT_SESSION_TTL_H is expired when next touched (409 session_expired on submit,
finger exception and commit; a read shows it expired), in bulk by `guardid enrol expire` and
at `guardid serve` start; audited; its captures stay for the record."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from enrollment.models import Capture, EnrollmentSession, FingerException, SessionStatus
from registry.models import AuditEntry
from tests.enrollment.conftest import finger_png, submit_fingers
from tests.enrollment.test_enrollment_api import face, open_for
from tests.helpers import auth

pytestmark = pytest.mark.db


def _age(runtime, sid: int, hours: float) -> None:
    """Move a session's opening back by ``hours`` (as if left open that long)."""
    with runtime.sessions() as s:
        row = s.get(EnrollmentSession, sid)
        row.opened_at = row.opened_at - dt.timedelta(hours=hours)
        s.commit()


def _status(runtime, sid: int) -> SessionStatus:
    with runtime.sessions() as s:
        return s.get(EnrollmentSession, sid).status


def _expiries(runtime) -> list[dict]:
    with runtime.sessions() as s:
        return [json.loads(e.detail) for e in s.scalars(
            select(AuditEntry).where(AuditEntry.action == "enrollment.expire")
            .order_by(AuditEntry.id))]


def test_a_stale_session_is_expired_when_touched(client, keys, runtime, face_jpeg):
    st = keys["station"]
    stale = open_for(client, st, 61)["id"]
    assert face(client, st, stale, face_jpeg).json()["passed"]
    _age(runtime, stale, runtime.settings.enrolment_session_ttl_h + 1)
    r = face(client, st, stale, face_jpeg)
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "session_expired" and "open a new session" in r.json()["message"]
    assert _status(runtime, stale) == SessionStatus.expired  # the expiry stands
    f = client.post(f"/enrollments/{stale}/fingers/2", headers=auth(st),
                    files={"file": ("f2.png", finger_png(10_612, 1), "image/png")})
    assert f.status_code == 409 and f.json()["code"] == "session_expired"
    c = client.post(f"/enrollments/{stale}/commit", headers=auth(st))
    assert c.status_code == 409 and c.json()["code"] == "session_expired"
    assert client.get(f"/enrollments/{stale}", headers=auth(st)).json()["status"] == "expired"
    with runtime.sessions() as s:  # nothing lost: the capture is kept for the record
        assert s.scalar(select(func.count()).select_from(Capture).where(
            Capture.session_id == stale)) == 1
    assert len(_expiries(runtime)) == 1
    # a session younger than the lifetime goes on as before
    fresh = open_for(client, st, 62)["id"]
    _age(runtime, fresh, runtime.settings.enrolment_session_ttl_h - 1)
    assert face(client, st, fresh, face_jpeg).json()["passed"]
    submit_fingers(client, st, fresh, 62)
    done = client.post(f"/enrollments/{fresh}/commit", headers=auth(st))
    assert done.status_code == 200 and done.json()["status"] == "committed", done.text


def test_stale_sessions_are_expired_in_bulk_and_at_serve_start(client, keys, runtime, capsys):
    from cli.enrol_cmds import expire_stale_sessions
    from cli.registry_cmds import _expire_at_start

    st = keys["station"]
    ttl = runtime.settings.enrolment_session_ttl_h
    old, young, later = (open_for(client, st, n)["id"] for n in (63, 64, 65))
    _age(runtime, old, ttl + 0.5)
    assert expire_stale_sessions(runtime) == [old]
    assert expire_stale_sessions(runtime) == []  # idempotent
    assert _status(runtime, old) == SessionStatus.expired
    assert _status(runtime, young) == SessionStatus.open
    _age(runtime, later, ttl * 3)
    _expire_at_start(runtime.settings)
    assert "1 enrolment session(s)" in capsys.readouterr().out
    assert _status(runtime, later) == SessionStatus.expired
    assert _status(runtime, young) == SessionStatus.open
    assert [d["session_id"] for d in _expiries(runtime)] == [old, later]


def test_a_stale_session_reads_as_expired_and_takes_no_finger_exception(client, keys, runtime):
    st, ttl = keys["station"], runtime.settings.enrolment_session_ttl_h
    read, excused = open_for(client, st, 66)["id"], open_for(client, st, 67)
    _age(runtime, read, ttl + 1)
    _age(runtime, excused["id"], ttl + 1)
    got = client.get(f"/enrollments/{read}", headers=auth(st))
    assert got.status_code == 200 and got.json()["status"] == "expired", got.text
    assert got.json()["closed_at"] is not None
    assert _status(runtime, read) == SessionStatus.expired  # the read's expiry stands
    r = client.post(f"/enrollments/{excused['id']}/fingers/2/exception", headers=auth(st),
                    json={"reason_code": "injured"})
    assert r.status_code == 409 and r.json()["code"] == "session_expired", r.text
    assert _status(runtime, excused["id"]) == SessionStatus.expired
    with runtime.sessions() as s:  # nothing recorded against the stale session's guard
        assert s.scalar(select(func.count()).select_from(FingerException).where(
            FingerException.guard_id == excused["guard_id"])) == 0
    assert [d["session_id"] for d in _expiries(runtime)] == [read, excused["id"]]
