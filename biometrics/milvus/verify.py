"""``guardid gallery verify``: Milvus against the database (counts and a sample of ids each
way: sampled current ids must be in Milvus, sampled Milvus ids must be current). Nothing here
reads all of a collection: a national gallery of tens of millions of codes is checked by
key lookups and one keyset page."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from biometrics.milvus.indexer import lag
from biometrics.milvus.store import MilvusStore
from biometrics.models import Biometric, Modality

# Ids of the database checked to be in Milvus, per modality (all of them when fewer).
SAMPLE = 1_000


@dataclass(frozen=True)
class Verdict:
    """One modality: what the database holds, what Milvus holds, and what differs."""

    modality: str
    database: int  # current (not superseded) templates
    milvus: int  # biometrics Milvus holds
    missing: int  # sampled current ids Milvus does not hold
    stale: int  # sampled ids Milvus holds that are not current
    lag_changes: int  # changes the indexer has not applied yet (explains a difference)

    @property
    def ok(self) -> bool:
        """Whether Milvus holds exactly the current templates (or the indexer explains it)."""
        return self.lag_changes > 0 or (self.missing == 0 and self.stale == 0
                                        and self.database == self.milvus)


def verify(db_session: Session, store: MilvusStore, *, sample: int = SAMPLE,
           seed: int = 0) -> list[Verdict]:
    """Return a Verdict per modality (ids only: no template is read)."""
    out = []
    rng = random.Random(seed)
    top = db_session.scalar(select(func.max(Biometric.id))) or 0  # Milvus samples start below
    for modality, kind in ((Modality.face, "faces"), (Modality.finger, "fingers")):
        current = select(Biometric.id).where(Biometric.modality == modality,
                                             Biometric.superseded_at.is_(None))
        total = db_session.scalar(select(func.count()).select_from(current.subquery()))
        picked = list(db_session.scalars(current.order_by(func.random()).limit(sample)))
        missing = len(set(picked) - store.held(kind, picked))
        theirs = store.sample_ids(kind, sample, rng.randint(0, top))
        live = set(db_session.scalars(current.where(Biometric.id.in_(theirs)))) \
            if theirs else set()
        out.append(Verdict(modality.value, int(total or 0), store.count_biometrics(kind),
                           missing, len(set(theirs) - live), lag(db_session, modality).changes))
    return out


def as_dict(v: Verdict) -> dict:
    """Return a Verdict as JSON-ready data."""
    return {**asdict(v), "ok": v.ok}
