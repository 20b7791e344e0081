"""The one writer of enrolled biometrics: store, supersede and remove, each with its change.

Every row written here logs its change in the same transaction (``biometrics.feed``), so
the galleries of every process converge on the database. Re-extraction, the fourth writer,
lives in ``biometrics.reextract`` (it re-makes templates in place).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from biometrics import feed
from biometrics.models import Biometric, Modality
from registry.models import utcnow


@dataclass(frozen=True)
class NewTemplate:
    """One template to store: already encrypted by the caller under its purpose."""

    modality: Modality
    position: int
    template_enc: bytes
    quality: float
    model_id: str
    image_enc: bytes | None = None


def store(db_session: Session, *, guard_id: int, templates: Iterable[NewTemplate],
          enrollment_id: int | None = None, station: str | None = None,
          now: dt.datetime | None = None) -> list[int]:
    """Insert the guard's new current biometrics and log their adds; return their ids."""
    stored = []
    for t in templates:
        bio = Biometric(guard_id=guard_id, modality=t.modality, position=t.position,
                        template_enc=t.template_enc, image_enc=t.image_enc, quality=t.quality,
                        model_id=t.model_id, enrollment_id=enrollment_id, station=station,
                        captured_at=now or utcnow())
        db_session.add(bio)
        db_session.flush()
        stored.append(bio.id)
    feed.record_add(db_session, stored)
    return stored


def store_rows(db_session: Session, rows: Sequence[dict]) -> list[int]:
    """Bulk-insert biometrics rows (column dicts) and log their adds; return their ids."""
    if not rows:
        return []
    ids = list(db_session.scalars(insert(Biometric).returning(Biometric.id), rows).all())
    feed.record_add(db_session, ids)
    return ids


def record_captures(db_session: Session, rows: Sequence[dict], *, bulk: bool = False) -> int:
    """Insert capture records that hold no searchable template (``template_enc`` empty;
    e.g. the reporting fixtures' coverage facts); return how many. They are not in the change
    feed, so no gallery loads them; coverage and spans count them like any capture.
    ``bulk`` inserts without the ORM (its session hooks do not see them: the caller rebuilds
    what depends on them)."""
    if any(r.get("template_enc") for r in rows):
        raise ValueError("a capture record carries no template: use store() for templates")
    rows = [{**r, "template_enc": b""} for r in rows]
    if bulk and rows:
        db_session.execute(insert(Biometric), rows)
    elif rows:
        db_session.add_all([Biometric(**r) for r in rows])
    return len(rows)


def supersede(db_session: Session, guard_id: int, modality: Modality,
              positions: set[int] | None, now: dt.datetime) -> list[int]:
    """Mark the guard's current biometrics of ``modality`` (at ``positions``) superseded."""
    query = select(Biometric).where(Biometric.guard_id == guard_id,
                                    Biometric.modality == modality,
                                    Biometric.superseded_at.is_(None))
    if positions is not None:
        query = query.where(Biometric.position.in_(positions))
    return _retire(db_session, list(db_session.scalars(query)), now)


def remove(db_session: Session, biometric_ids: Iterable[int],
           now: dt.datetime | None = None) -> list[int]:
    """Take these biometrics out of the galleries (superseded now); return those retired."""
    ids = list(biometric_ids)
    rows = list(db_session.scalars(select(Biometric).where(
        Biometric.id.in_(ids), Biometric.superseded_at.is_(None)))) if ids else []
    return _retire(db_session, rows, now or utcnow())


def _retire(db_session: Session, rows: list[Biometric], now: dt.datetime) -> list[int]:
    """Supersede ``rows`` and log their removal; return their ids."""
    for bio in rows:
        bio.superseded_at = now
    feed.record_remove(db_session, [b.id for b in rows])
    return [b.id for b in rows]
