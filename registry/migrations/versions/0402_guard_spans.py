"""guard spans: the dated guard state reports read, built from existing history

Revision ID: 0402
Revises: 0401
Create Date: 2026-11-26 13:40:00
"""
from collections import defaultdict
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision = '0402'
down_revision = '0401'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('guard_spans',
    sa.Column('valid_to', sa.DateTime(), nullable=False),
    sa.Column('guard_id', sa.Integer(), nullable=False),
    sa.Column('valid_from', sa.DateTime(), nullable=False),
    sa.Column('duty_status', sa.String(length=32), nullable=True),
    sa.Column('employer_id', sa.Integer(), nullable=True),
    sa.Column('district', sa.String(length=64), nullable=True),
    sa.Column('post_site', sa.String(length=200), nullable=True),
    sa.Column('on_duty_since', sa.DateTime(), nullable=True),
    sa.Column('face_at', sa.DateTime(), nullable=True),
    sa.Column('fingers', sa.Integer(), nullable=False),
    sa.Column('fingers_exc', sa.Integer(), nullable=False),
    sa.Column('certificate', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('valid_to', 'guard_id', name=op.f('pk_guard_spans')),
    sqlite_with_rowid=False,
    )
    op.create_index(op.f('ix_guard_spans_guard_id'), 'guard_spans', ['guard_id'], unique=False)
    _backfill(op.get_bind())


def downgrade() -> None:
    op.drop_index(op.f('ix_guard_spans_guard_id'), table_name='guard_spans')
    op.drop_table('guard_spans')


# What follows is a frozen copy of reporting.spans as of this revision (a migration imports no
# application code: the code moves on, this revision's schema does not). The rows it writes
# equal reporting.spans.rebuild's (tests/registry/test_migrations.py compares them).
_OPEN_END = datetime(9999, 12, 31)
_STATUS_RANK = {"issued": 0, "reinstate": 0, "suspend": 1, "revoke": 2}
_BATCH = 20_000
_md = sa.MetaData()
_guards = sa.Table("guards", _md, sa.Column("id", sa.Integer))
_events = sa.Table("guard_events", _md, sa.Column("id", sa.Integer),
                   sa.Column("guard_id", sa.Integer), sa.Column("at", sa.DateTime),
                   sa.Column("kind", sa.String), sa.Column("value", sa.String))
_bios = sa.Table("biometrics", _md, sa.Column("id", sa.Integer),
                 sa.Column("guard_id", sa.Integer), sa.Column("captured_at", sa.DateTime),
                 sa.Column("modality", sa.String), sa.Column("position", sa.Integer))
_excs = sa.Table("finger_exceptions", _md, sa.Column("id", sa.Integer),
                 sa.Column("guard_id", sa.Integer), sa.Column("decided_at", sa.DateTime),
                 sa.Column("position", sa.Integer), sa.Column("status", sa.String))
_certs = sa.Table("certificates", _md, sa.Column("id", sa.Integer),
                  sa.Column("guard_id", sa.Integer))
_cert_events = sa.Table("certificate_events", _md, sa.Column("id", sa.Integer),
                        sa.Column("certificate_id", sa.Integer), sa.Column("at", sa.DateTime),
                        sa.Column("event", sa.String))
_spans = sa.Table("guard_spans", _md, *(sa.Column(c, t) for c, t in (
    ("valid_to", sa.DateTime), ("guard_id", sa.Integer), ("valid_from", sa.DateTime),
    ("duty_status", sa.String), ("employer_id", sa.Integer), ("district", sa.String),
    ("post_site", sa.String), ("on_duty_since", sa.DateTime), ("face_at", sa.DateTime),
    ("fingers", sa.Integer), ("fingers_exc", sa.Integer), ("certificate", sa.Integer))))


def _facts(conn, lo: int, hi: int) -> dict:
    """Return every dated fact, per guard in ``lo..hi`` and in order."""
    facts = defaultdict(list)
    for gid, at, seq, kind, value in conn.execute(sa.select(
            _events.c.guard_id, _events.c.at, _events.c.id, _events.c.kind, _events.c.value)
            .where(_events.c.guard_id.between(lo, hi))):
        facts[gid].append((at, 0, seq, kind, value))
    for gid, at, seq, modality, position in conn.execute(sa.select(
            _bios.c.guard_id, _bios.c.captured_at, _bios.c.id, _bios.c.modality,
            _bios.c.position).where(_bios.c.guard_id.between(lo, hi))):
        facts[gid].append((at, 1, seq, "face" if modality == "face" else "finger", position))
    for gid, at, seq, position in conn.execute(sa.select(
            _excs.c.guard_id, _excs.c.decided_at, _excs.c.id, _excs.c.position).where(
                _excs.c.guard_id.between(lo, hi), _excs.c.status == "approved",
                _excs.c.decided_at.is_not(None))):
        facts[gid].append((at, 2, seq, "exception", position))
    for gid, at, seq, cert, ev in conn.execute(sa.select(
            _certs.c.guard_id, _cert_events.c.at, _cert_events.c.id, _certs.c.id,
            _cert_events.c.event).join(_certs, _certs.c.id == _cert_events.c.certificate_id)
            .where(_certs.c.guard_id.between(lo, hi),
                   _cert_events.c.event.in_(list(_STATUS_RANK)))):
        facts[gid].append((at, 3, seq, "certificate", (cert, ev)))
    for items in facts.values():
        items.sort(key=lambda f: (f[0], f[1], f[2]))
    return facts


def _spans_of(guard_id: int, facts: list) -> list[dict]:
    """Return the spans of one guard from its ordered facts (one span per distinct time)."""
    state = {"duty_status": None, "employer_id": None, "district": None,
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
            certs[value[0]] = _STATUS_RANK[value[1]]
        row = {"guard_id": guard_id, "valid_from": at, "valid_to": _OPEN_END, **state,
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


def _backfill(conn) -> None:
    """Turn the existing history of every guard into spans, a batch of guards at a time."""
    top = conn.scalar(sa.select(sa.func.max(_guards.c.id))) or 0
    for lo in range(0, top + 1, _BATCH):
        facts = _facts(conn, lo, lo + _BATCH - 1)
        rows = sorted((r for g, f in facts.items() for r in _spans_of(g, f)),
                      key=lambda r: (r["valid_to"], r["guard_id"]))
        for at in range(0, len(rows), 10_000):
            conn.execute(sa.insert(_spans), rows[at:at + 10_000])
