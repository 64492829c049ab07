"""What every catalog write shares: reference checks, a save that maps clashes, one lookup."""

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import Problem, not_found

UNIQUE_VIOLATION = "23505"


def label(model) -> str:
    return model.__tablename__.removesuffix("s").replace("_", " ")


def reference_problem(field: str, detail: str) -> Problem:
    return Problem(
        422,
        "a referenced object does not exist",
        errors=[{"loc": ["body", field], "msg": detail, "type": "missing_reference"}],
    )


async def check_refs(db: AsyncSession, **refs: tuple[type, uuid.UUID | list | None]) -> None:
    """422 naming every field whose id (or ids) is not in its table."""
    errors = []
    for field, (model, value) in refs.items():
        ids = value if isinstance(value, list) else [value] if value else []
        if not ids:
            continue
        found = set(await db.scalars(select(model.id).where(model.id.in_(ids))))
        missing = [str(i) for i in ids if i not in found]
        if missing:
            msg = f"no such {label(model)}: {', '.join(missing)}"
            errors.append({"loc": ["body", field], "msg": msg, "type": "missing_reference"})
    if errors:
        raise Problem(422, "a referenced object does not exist", errors=errors)


async def save(db: AsyncSession, *objs, conflict: str):
    """Insert in order and commit; a unique clash is 409, a vanished reference 422."""
    try:
        for obj in objs:
            db.add(obj)
            await db.flush()
        await db.commit()
    except IntegrityError as err:
        await db.rollback()
        if getattr(err.orig, "sqlstate", None) == UNIQUE_VIOLATION:
            raise Problem(409, conflict) from err
        raise Problem(422, "a referenced object does not exist") from err
    return objs[0]


async def one(db: AsyncSession, model, item_id: uuid.UUID):
    obj = await db.get(model, item_id)
    if obj is None:
        raise not_found(label(model))
    return obj
