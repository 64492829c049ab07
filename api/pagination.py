"""Lists: keyset pagination (`limit` and an opaque `cursor` over (created_at, id)) and
equality filters."""

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Query
from sqlalchemy import Select, and_, or_

from api.errors import Problem

LimitQ = Annotated[int, Query(ge=1, le=500)]
CursorQ = Annotated[str | None, Query(max_length=200)]


def encode(created_at: datetime, row_id: uuid.UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, row_id = json.loads(raw)
        at = datetime.fromisoformat(at)
        if at.tzinfo is None:
            raise ValueError("a cursor's time has an offset")
        # Only a time PostgreSQL can hold (in UTC) is a cursor we made.
        return at.astimezone(UTC), uuid.UUID(row_id)
    except Exception as err:
        raise Problem(
            422, "the cursor is not valid", errors=[{"loc": ["query", "cursor"]}]
        ) from err


def equal(query: Select, columns, values: dict) -> Select:
    """A list's filters: each value given (not None) must equal its column."""
    for name, value in values.items():
        if value is not None:
            query = query.where(getattr(columns, name) == value)
    return query


def page(query: Select, model, limit: int, cursor: str | None) -> Select:
    if cursor:
        at, row_id = decode(cursor)
        query = query.where(
            or_(model.created_at > at, and_(model.created_at == at, model.id > row_id))
        )
    return query.order_by(model.created_at, model.id).limit(limit + 1)


def cut(rows: list, limit: int) -> tuple[list, str | None]:
    """The page's rows, and the cursor of the next page (None on the last one)."""
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode(rows[-1].created_at, rows[-1].id) if more and rows else None


def result(rows: list, limit: int, to_item) -> dict:
    rows, nxt = cut(rows, limit)
    return {"items": [to_item(r) for r in rows], "next_cursor": nxt}


async def read_page(db, query: Select, model, limit: int, cursor: str | None, to_item) -> dict:
    """One page of `query`'s rows (of `model`, in keyset order), each made an item."""
    rows = (await db.execute(page(query, model, limit, cursor))).scalars().all()
    return result(list(rows), limit, to_item)
