"""One page of a listing: the rows of a query from ``offset``, at most ``limit``, and the total."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")


def page(db_session: Session, query: Select[tuple[T]], *order_by: Any, offset: int,
         limit: int) -> tuple[list[T], int]:
    """Return the rows of ``query`` in ``order_by`` order from ``offset`` (at most ``limit``)
    and how many rows the whole query has."""
    total = db_session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db_session.scalars(query.order_by(*order_by).offset(offset).limit(limit)).all()
    return list(rows), int(total)
