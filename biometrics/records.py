"""Reading enrolled biometrics: what other domains see of them, and their decrypted blobs.

The writers are ``biometrics.writer`` and ``biometrics.reextract``; every domain that reads
a guard's biometrics (inspection, the archive, reviews) reads them here, so the rules of what
"current" means and which purpose opens which blob live in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from biometrics.models import Biometric, Modality
from biometrics.purposes import (
    FACE_IMAGE_PURPOSE,
    FACE_TEMPLATE_PURPOSE,
    FINGER_IMAGE_PURPOSE,
    FINGER_TEMPLATE_PURPOSE,
)
from registry.crypto import Vault


def current(db_session: Session, guard_id: int, modalities: Iterable[Modality] | None = None,
            *, position: int | None = None, with_image: bool = False) -> list[Biometric]:
    """Return the guard's current (not superseded) biometrics, by modality and position."""
    query = select(Biometric).where(Biometric.guard_id == guard_id,
                                    Biometric.superseded_at.is_(None))
    if modalities is not None:
        query = query.where(Biometric.modality.in_(list(modalities)))
    if position is not None:
        query = query.where(Biometric.position == position)
    if with_image:
        query = query.where(Biometric.image_enc.is_not(None))
    return list(db_session.scalars(query.order_by(Biometric.modality, Biometric.position,
                                                  Biometric.id)))


def latest_face(db_session: Session, guard_id: int) -> Biometric | None:
    """Return the guard's newest current face, or None."""
    return db_session.scalar(select(Biometric).where(
        Biometric.guard_id == guard_id, Biometric.modality == Modality.face,
        Biometric.superseded_at.is_(None)).order_by(Biometric.id.desc()).limit(1))


def history(db_session: Session, guard_id: int) -> list[Biometric]:
    """Return every biometric the guard ever gave, superseded ones included, oldest first."""
    return list(db_session.scalars(select(Biometric).where(Biometric.guard_id == guard_id)
                                   .order_by(Biometric.id)))


def get(db_session: Session, biometric_id: int) -> Biometric | None:
    """Return one biometric by id, or None."""
    return db_session.get(Biometric, biometric_id)


def enrolled_modalities(db_session: Session, guard_id: int) -> set[str]:
    """Return which modalities the guard has on file."""
    rows = db_session.scalars(select(Biometric.modality).where(
        Biometric.guard_id == guard_id, Biometric.superseded_at.is_(None)).distinct())
    return {m.value for m in rows}


def image_purpose(modality: Modality) -> str:
    """Return the encryption purpose of an image of ``modality``."""
    return FACE_IMAGE_PURPOSE if modality == Modality.face else FINGER_IMAGE_PURPOSE


def template_purpose(modality: Modality) -> str:
    """Return the encryption purpose of a template of ``modality``."""
    return FACE_TEMPLATE_PURPOSE if modality == Modality.face else FINGER_TEMPLATE_PURPOSE


def template_bytes(db_session: Session, vault: Vault, bio: Biometric) -> bytes:
    """Return the decrypted template of ``bio``."""
    return vault.decrypt(db_session, bio.template_enc, purpose=template_purpose(bio.modality))


def capture_facts(conn: Connection, where: Callable) -> Iterator[tuple]:
    """Yield (guard id, captured at, biometric id, "face" | "finger", position) of every
    biometric ever captured of the guards ``where(guard id column)`` selects."""
    for gid, at, bid, modality, position in conn.execute(select(
            Biometric.guard_id, Biometric.captured_at, Biometric.id, Biometric.modality,
            Biometric.position).where(where(Biometric.guard_id))):
        yield gid, at, bid, "face" if modality == Modality.face else "finger", position


def is_record(obj: object) -> bool:
    """Whether ``obj`` is an enrolled-biometric row (a session hook's change filter)."""
    return isinstance(obj, Biometric)
