"""GET /<path> (a page) and GET /<path>/{id} for a catalog table, on a given router."""

import uuid

from fastapi import APIRouter
from sqlalchemy import select

from api.deps import Reader, SessionDep
from api.pagination import CursorQ, LimitQ, read_page
from api.schemas.catalog import Page
from api.services.catalog.common import one


def collection(
    router: APIRouter, path: str, model, read, tag: str, *, with_get: bool = True, where=None
):
    """Staff and integrations read the rows back, as `read` documents them; `where` keeps
    rows out of the list (GET by id still answers them)."""
    query = select(model) if where is None else select(model).where(where)

    @router.get(
        f"/{path}",
        response_model=Page[read],
        tags=[tag],
        summary=f"List {path}",
        description=f"The {path}, oldest first, a page at a time: pass the page's `next_cursor`"
        " as `cursor` for the next one. Staff and integrations.",
    )
    async def list_items(db: SessionDep, _: Reader, limit: LimitQ = 50, cursor: CursorQ = None):
        return await read_page(db, query, model, limit, cursor, read.model_validate)

    if with_get:

        @router.get(
            f"/{path}/{{item_id}}",
            response_model=read,
            tags=[tag],
            summary="Read one",
            description=f"One of the {path} by its id (404 when there is none). Staff and"
            " integrations.",
        )
        async def get_item(item_id: uuid.UUID, db: SessionDep, _: Reader):
            return read.model_validate(await one(db, model, item_id))
