"""Keep ``guard_spans`` (the dated state reports read) in step with the history it comes from.

A guard's spans are a pure function of its dated records: duty, employer, district and post
events; biometric captures; approved finger exceptions; certificate status events. Whenever a
transaction adds or changes any of them, the session hook installed here rebuilds that
guard's spans from scratch before the transaction commits, so the read model can never
drift from the records (and a rebuild of everything, ``rebuild(conn)``, gives the same rows).
Bulk loaders that bypass the ORM call ``rebuild`` themselves.
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from itertools import chain

from sqlalchemy import Connection, delete, event, func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from biometrics import records
from enrollment.models import ExceptionStatus, FingerException
from registry.models import Certificate, CertificateEvent, Guard, GuardEvent
from reporting.models import OPEN_END, GuardSpan

# Certificate events that set a status, and the rank each gives (the best certificate wins).
STATUS_RANK = {"issued": 0, "reinstate": 0, "suspend": 1, "revoke": 2}
# Guards rebuilt per batch in a full rebuild (bounds memory at city scale).
REBUILD_BATCH = 20_000
_GUARDS, _CERTS = "guardid.spans.guards", "guardid.spans.certificates"
# The factories whose sessions keep spans, held weakly: an entry goes with its factory.
# (SQLAlchemy's ``event.contains(factory, ...)`` cannot answer this: it keys a listener by
# the factory's id() and keeps the key after the factory is gone, so a new factory that
# CPython allocates at a freed one's address looked hooked and got no hooks at all: its
# transactions wrote no spans and every report read zero.)
_INSTALLED: weakref.WeakSet[sessionmaker] = weakref.WeakSet()


def _facts(conn: Connection, where: Callable) -> dict[int, list]:
    """Return every dated fact, per guard and in order, of the guards ``where(guard_id
    column)`` selects."""
    facts: dict[int, list] = defaultdict(list)
    for gid, at, seq, kind, value in conn.execute(select(
            GuardEvent.guard_id, GuardEvent.at, GuardEvent.id, GuardEvent.kind,
            GuardEvent.value).where(where(GuardEvent.guard_id))):
        facts[gid].append((at, 0, seq, kind, value))
    for gid, at, seq, kind, position in records.capture_facts(conn, where):
        facts[gid].append((at, 1, seq, kind, position))
    for gid, at, seq, position in conn.execute(select(
            FingerException.guard_id, FingerException.decided_at, FingerException.id,
            FingerException.position).where(
                where(FingerException.guard_id),
                FingerException.status == ExceptionStatus.approved,
                FingerException.decided_at.is_not(None))):
        facts[gid].append((at, 2, seq, "exception", position))
    for gid, at, seq, cert, ev in conn.execute(select(
            Certificate.guard_id, CertificateEvent.at, CertificateEvent.id, Certificate.id,
            CertificateEvent.event).join(Certificate,
                                         Certificate.id == CertificateEvent.certificate_id)
            .where(where(Certificate.guard_id),
                   CertificateEvent.event.in_(list(STATUS_RANK)))):
        facts[gid].append((at, 3, seq, "certificate", (cert, ev)))
    for items in facts.values():
        items.sort(key=lambda f: (f[0], f[1], f[2]))
    return facts


def spans_of(guard_id: int, facts: Sequence[tuple]) -> list[dict]:
    """Return the spans of one guard from its ordered facts (one span per distinct time)."""
    state: dict = {"duty_status": None, "employer_id": None, "district": None,
                   "post_site": None, "on_duty_since": None}
    face_at, captured, excepted, certs = None, set(), set(), {}
    out: list[dict] = []
    for at, _, _, kind, value in facts:
        if kind == "duty_status":
            state["duty_status"] = value
            state["on_duty_since"] = at if value == "on_duty" else None
        elif kind == "employer_id":
            state["employer_id"] = int(value) if value else None
        elif kind in ("district", "post_site"):
            state[kind] = value
        elif kind == "face":
            face_at = face_at or at
        elif kind == "finger":
            captured.add(value)
        elif kind == "exception":
            excepted.add(value)
        elif kind == "certificate":
            certs[value[0]] = STATUS_RANK[value[1]]
        row = {"guard_id": guard_id, "valid_from": at, "valid_to": OPEN_END, **state,
               "face_at": face_at, "fingers": len(captured),
               "fingers_exc": len(captured | excepted),
               "certificate": min(certs.values()) if certs else None}
        if out and out[-1]["valid_from"] == at:
            out[-1] = row  # several facts at one instant: the state after all of them
        else:
            if out:
                out[-1]["valid_to"] = at
            out.append(row)
    return out


def _write(conn: Connection, facts: dict[int, list]) -> int:
    """Insert the spans of the given guards' facts; return how many rows were written."""
    rows = sorted(chain.from_iterable(spans_of(g, f) for g, f in facts.items()),
                  key=lambda r: (r["valid_to"], r["guard_id"]))  # in key order: cheaper inserts
    for lo in range(0, len(rows), 10_000):
        conn.execute(insert(GuardSpan), rows[lo:lo + 10_000])
    return len(rows)


def rebuild(conn: Connection, guard_ids: Iterable[int] | None = None) -> int:
    """Rebuild the spans of ``guard_ids`` (every guard when None); return the span count."""
    if guard_ids is not None:
        ids = set(guard_ids)
        if not ids:
            return 0
        conn.execute(delete(GuardSpan).where(GuardSpan.guard_id.in_(sorted(ids))))
        return _write(conn, _facts(conn, lambda col: col.in_(sorted(ids))))
    conn.execute(delete(GuardSpan))
    top = conn.scalar(select(func.max(Guard.id))) or 0
    written = 0
    for lo in range(0, top + 1, REBUILD_BATCH):
        written += _write(conn, _facts(
            conn, lambda col, lo=lo: col.between(lo, lo + REBUILD_BATCH - 1)))
    return written


def _collect(session: Session, _context) -> None:  # noqa: ANN001
    """After a flush: note the guards whose dated records were added, changed or deleted."""
    guards, certs = session.info.setdefault(_GUARDS, set()), session.info.setdefault(_CERTS, set())
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, GuardEvent | FingerException) or records.is_record(obj):
            guards.add(obj.guard_id)
        elif isinstance(obj, CertificateEvent):
            certs.add(obj.certificate_id)


def _refresh(session: Session) -> None:
    """Before commit: rebuild the spans of every guard the transaction touched."""
    session.flush()
    guards, certs = session.info.pop(_GUARDS, set()), session.info.pop(_CERTS, set())
    if certs:
        guards |= set(session.scalars(select(Certificate.guard_id)
                                      .where(Certificate.id.in_(sorted(certs)))))
    guards.discard(None)
    if not guards:
        return
    # Lock the guards (PostgreSQL; SQLite serialises writers anyway) so two transactions
    # touching one guard rebuild its spans one after the other, each from committed history.
    ids = sorted(guards)
    session.execute(select(Guard.id).where(Guard.id.in_(ids)).order_by(Guard.id)
                    .with_for_update())
    rebuild(session.connection(), ids)


def _forget(session: Session, *_args) -> None:  # noqa: ANN002
    """After a rollback: nothing noted is pending any more."""
    session.info.pop(_GUARDS, None)
    session.info.pop(_CERTS, None)


def install(factory: sessionmaker) -> None:
    """Keep guard spans in step for every session ``factory`` makes (once per factory)."""
    if factory in _INSTALLED:
        return
    _INSTALLED.add(factory)
    event.listen(factory, "after_flush", _collect)
    event.listen(factory, "before_commit", _refresh)
    event.listen(factory, "after_rollback", _forget)
