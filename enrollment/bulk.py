"""Bulk import of existing records: photos and fingerprint images mapped to guards by a CSV,
through the same quality gate and 1:N de-duplication as a station, resumable.

CSV columns: ``name``, ``id_number``, ``district`` (and optionally ``employer_id``,
``post_site``, ``duty_status``), ``face`` (a photo path) and ``finger_<1-10>`` (fingerprint
image paths), paths relative to the CSV's folder. Every step of a row carries an
idempotency key derived from the row's content, so re-running after an interruption (even a
``kill -9`` in the middle of a row) finishes the row without enrolling anyone twice.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from enrollment import fingers as finger_service
from enrollment import idempotency, service
from enrollment.dedup import Galleries
from enrollment.idempotency import IdempotencyKey
from enrollment.schemas import SessionIn
from matching.exceptions import GuardidError
from registry.audit import Actor
from registry.crypto import Vault
from registry.idnumber import mask
from registry.importer import checked_csv
from registry.schemas import GuardIn

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 40_000_000
GUARD_FIELDS = ("name", "id_number", "district", "employer_id", "post_site", "duty_status")


@dataclass
class ImportEngines:
    """What an import uses: the engines, galleries and the finger quality floor."""

    face: Any
    finger: Any
    galleries: Galleries
    min_finger_quality: float


@dataclass
class ItemResult:
    """The outcome of one CSV row."""

    row: int
    id_number_masked: str
    status: str  # committed | review | rejected | error
    guard_id: int | None = None
    detail: list[str] = field(default_factory=list)


def read_rows(csv_path: Path) -> Iterator[tuple[int, dict[str, str], str]]:
    """Yield (row number, fields, stable row key) from the mapping CSV."""
    with csv_path.open(newline="", encoding="utf-8-sig") as fh:
        for number, row in enumerate(checked_csv(csv.DictReader(fh)), start=2):
            clean = {k.strip(): (v or "").strip() for k, v in row.items() if k}
            key = hashlib.sha256(json.dumps(clean, sort_keys=True).encode()).hexdigest()[:24]
            yield number, clean, key


def _idem(actor: Actor, row_key: str, step: str) -> IdempotencyKey:
    """Return the idempotency key of one step of one row."""
    return IdempotencyKey.of(f"import:{row_key}:{step}", actor.key_id, "IMPORT", step,
                             row_key.encode(), status=0)  # not an HTTP response


def _step(db_session: Session, idem: IdempotencyKey, call: Callable[[], Any]) -> dict:
    """Run a service call once per key: replay its stored result on a re-run."""
    hit = idempotency.replay(db_session, idem)
    if hit is not None:
        db_session.rollback()
        return hit[1]
    return call().model_dump(mode="json")


def import_row(*, db_session: Session, vault: Vault, actor: Actor, engines: ImportEngines,
               root: Path, number: int, row: dict[str, str], row_key: str) -> ItemResult:
    """Enrol one row: open, face, each finger, commit; return what happened."""
    result = ItemResult(number, mask(row.get("id_number", "")), "error")
    guard = GuardIn(**{k: row[k] for k in GUARD_FIELDS if row.get(k)})
    session = _step(db_session, _idem(actor, row_key, "open"), lambda: service.open_session(
        db_session=db_session, vault=vault, actor=actor, data=SessionIn(guard=guard),
        idem=_idem(actor, row_key, "open")))
    result.guard_id = session["guard_id"]
    sid = session["id"]
    verdicts = []
    if row.get("face"):
        image = _read(root, row["face"])
        verdicts.append(_step(db_session, _idem(actor, row_key, "face"), lambda: (
            service.submit_face(db_session=db_session, vault=vault, actor=actor,
                                engine=engines.face, session_id=sid, image=image,
                                max_bytes=MAX_FILE_BYTES, max_pixels=MAX_PIXELS,
                                idem=_idem(actor, row_key, "face")))))
    for position in range(1, 11):
        if row.get(f"finger_{position}"):
            verdicts.append(_finger(db_session, vault, actor, engines, root, sid, position,
                                    row[f"finger_{position}"], row_key))
    result.detail = [f"{v['modality']}{'' if v['position'] == 0 else v['position']}: "
                     + ",".join(r["code"] for r in v["reasons"]) for v in verdicts
                     if not v["passed"]]
    committed = _step(db_session, _idem(actor, row_key, "commit"), lambda: service.commit(
        db_session=db_session, vault=vault, actor=actor, galleries=engines.galleries,
        session_id=sid, idem=_idem(actor, row_key, "commit")))
    result.status = committed["status"]
    if committed.get("candidates"):
        result.detail.append("possible duplicate of guard(s) " + ", ".join(
            str(c["guard_id"]) for c in committed["candidates"]))
    return result


def _finger(db_session: Session, vault: Vault, actor: Actor, engines: ImportEngines,
            root: Path, sid: int, position: int, path: str, row_key: str) -> dict:
    """Submit one fingerprint image of a row."""
    idem = _idem(actor, row_key, f"finger{position}")
    image = _read(root, path)
    result = finger_service.analyse(engines.finger, image, position=position,
                                    max_bytes=MAX_FILE_BYTES, max_pixels=MAX_PIXELS)
    return _step(db_session, idem, lambda: finger_service.submit(
        db_session=db_session, vault=vault, actor=actor, session_id=sid, position=position,
        image=image, result=result, min_quality=engines.min_finger_quality, idem=idem))


def _read(root: Path, relative: str) -> bytes:
    """Read an image named by the CSV, refusing paths that leave the import folder."""
    path = (root / relative).resolve()
    if root.resolve() not in path.parents:
        raise FileNotFoundError(f"{relative} is outside the import folder")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ValueError(f"{relative} is larger than {MAX_FILE_BYTES} bytes")
    return path.read_bytes()


def safe_import_row(db_session: Session, **kwargs: Any) -> ItemResult:
    """Like import_row, but any failure of the row becomes an 'error'/'rejected' result."""
    try:
        return import_row(db_session=db_session, **kwargs)
    except GuardidError as exc:
        db_session.rollback()
        status = "rejected" if exc.code in ("incomplete_enrollment", "quality_rejected") \
            else "error"
        return ItemResult(kwargs["number"], mask(kwargs["row"].get("id_number", "")), status,
                          detail=[f"{exc.code}: {exc.message}"])
    except (OSError, ValueError) as exc:
        db_session.rollback()
        return ItemResult(kwargs["number"], mask(kwargs["row"].get("id_number", "")), "error",
                          detail=[str(exc)])
