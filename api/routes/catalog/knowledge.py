"""Knowledge articles: write, search, read, and count the questions they answered."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from api.collections import collection
from api.deps import CurrentPrincipal, SessionDep, Writer
from api.pagination import LimitQ
from api.schemas.catalog import Deflections, KnowledgeCreate, KnowledgeRead, Page
from api.services.catalog import knowledge
from models.people import KnowledgeArticle

router = APIRouter(tags=["knowledge"])


@router.post("/knowledge", status_code=201, response_model=KnowledgeRead)
async def create_article(body: KnowledgeCreate, db: SessionDep, _: Writer):
    """A knowledge article (title, body, product, tags), published or a draft: customers find
    the published ones in the portal."""
    return await knowledge.create(db=db, body=body)


@router.get("/knowledge/search", response_model=Page[KnowledgeRead])
async def search_knowledge(
    db: SessionDep,
    principal: CurrentPrincipal,
    q: Annotated[str, Query(min_length=1, max_length=200, pattern=r"^[^\x00]*$")],
    limit: LimitQ = 20,
):
    """Articles ranked by where the words of `q` occur: title 3, tag 2, body 1."""
    return await knowledge.search(db=db, principal=principal, q=q, limit=limit)


collection(router, "knowledge", KnowledgeArticle, KnowledgeRead, "knowledge", with_get=False)


@router.get("/knowledge/{article_id}", response_model=KnowledgeRead)
async def get_article(article_id: uuid.UUID, db: SessionDep, principal: CurrentPrincipal):
    """One article; only staff see drafts (404 for anyone else)."""
    return await knowledge.get(db=db, principal=principal, article_id=article_id)


@router.post("/knowledge/{article_id}/deflections", response_model=Deflections)
async def count_deflection(article_id: uuid.UUID, db: SessionDep, principal: CurrentPrincipal):
    """The article answered the question, so no case was opened."""
    return await knowledge.deflect(db=db, principal=principal, article_id=article_id)
