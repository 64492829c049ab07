"""Knowledge articles: write, edit, search, read, and the customers' verdicts on them."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Query

from api.collections import collection
from api.deps import CurrentPrincipal, SessionDep, Writer
from api.errors import Problem
from api.pagination import LimitQ
from api.schemas.catalog import (
    Deflections,
    KnowledgeCreate,
    KnowledgeHit,
    KnowledgeRead,
    KnowledgeUpdate,
    NotHelpful,
    Page,
)
from api.services.catalog import knowledge
from models.people import KnowledgeArticle

router = APIRouter(tags=["knowledge"])
SearchedFor = Annotated[
    str | None,
    Query(
        max_length=300,
        pattern=r"^[^\x00]*$",
        description="What the customer searched for (kept with the verdict, for authors)",
    ),
]


@router.post("/knowledge", status_code=201, response_model=KnowledgeRead)
async def create_article(body: KnowledgeCreate, db: SessionDep, _: Writer):
    """A knowledge article (title, body, product, tags), published or a draft: customers find
    the published ones in the portal."""
    return await knowledge.create(db=db, body=body)


@router.get(
    "/knowledge/search",
    response_model=Page[KnowledgeHit],
    summary="Search the knowledge base (full text, ranked, with snippets)",
)
async def search_knowledge(
    db: SessionDep,
    principal: CurrentPrincipal,
    q: Annotated[str, Query(min_length=1, max_length=200, pattern=r"^[^\x00]*$")],
    limit: LimitQ = 20,
):
    """Articles matching the words of `q` (PostgreSQL full text: title weighs most, then tags,
    then body), best first; a customer's own products' articles rank higher. Each carries a
    `snippet` (HTML-escaped text with the matched words in `<mark>`). Websearch syntax
    ("quoted phrase", or, -word) asks for exactly that."""
    return await knowledge.search(db=db, principal=principal, q=q, limit=limit)


collection(router, "knowledge", KnowledgeArticle, KnowledgeRead, "knowledge", with_get=False)


@router.get("/knowledge/{article_id}", response_model=KnowledgeRead)
async def get_article(article_id: uuid.UUID, db: SessionDep, principal: CurrentPrincipal):
    """One article; only staff see drafts (404 for anyone else)."""
    return await knowledge.get(db=db, principal=principal, article_id=article_id)


@router.patch("/knowledge/search", include_in_schema=False)
async def no_edit_of_search():
    """The search has no PATCH: without this route PATCH /knowledge/search would reach the
    article's as a bad id (422) instead of 405 with Allow."""
    raise Problem(405, "Method Not Allowed", headers={"Allow": "GET"})


@router.patch("/knowledge/{article_id}", response_model=KnowledgeRead, summary="Edit an article")
async def edit_article(
    article_id: uuid.UUID,
    db: SessionDep,
    _: Writer,
    body: Annotated[
        KnowledgeUpdate, Body(examples=[{"body": "Hold the reset button for 10 seconds."}])
    ],
):
    """The fields given replace theirs and the article's version goes up by one; customers'
    verdicts keep the version they read."""
    return await knowledge.edit(db=db, article_id=article_id, body=body)


def verdict_route(path: str, count, model, summary: str, description: str) -> None:
    """POST /knowledge/{article_id}/{path}: the caller's verdict, answered with its count."""

    async def endpoint(
        article_id: uuid.UUID, db: SessionDep, principal: CurrentPrincipal, q: SearchedFor = None
    ):
        return await count(db=db, principal=principal, article_id=article_id, query=q)

    endpoint.__name__ = f"count_{path.replace('-', '_')}"
    router.add_api_route(
        f"/knowledge/{{article_id}}/{path}",
        endpoint,
        methods=["POST"],
        response_model=model,
        summary=summary,
        description=description,
    )


verdict_route(
    "deflections",
    knowledge.deflect,
    Deflections,
    "The article solved it (a deflection)",
    "The article answered the question, so no case was opened. Counted once a day per "
    "customer and article: a second click answers the same count.",
)
verdict_route(
    "not-helpful",
    knowledge.not_helpful,
    NotHelpful,
    "The article did not help",
    "The customer read the article and it did not answer the question (once a day per "
    "customer and article).",
)
