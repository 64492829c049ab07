"""Knowledge articles: write, rank by the words of a question, count deflections."""

import uuid

from sqlalchemy import Text, cast, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import Principal
from api.errors import not_found
from api.schemas.catalog import Deflections, KnowledgeCreate, KnowledgeRead
from api.services.catalog.common import check_refs, save
from models.customers import Product
from models.people import KnowledgeArticle
from workflows.vocabulary import Role

# More candidates than any page; ranking happens in Python over this many matches.
SEARCH_CANDIDATES = 1000


def sees_drafts(principal: Principal) -> bool:
    return principal.is_staff or principal.role == Role.INTEGRATION


def score(article: KnowledgeArticle, terms: list[str]) -> int:
    title, body = article.title.casefold(), article.body.casefold()
    tags = [t.casefold() for t in article.tags or ()]
    return sum(3 * (t in title) + 2 * any(t in tag for tag in tags) + (t in body) for t in terms)


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def create(*, db: AsyncSession, body: KnowledgeCreate) -> KnowledgeRead:
    await check_refs(db, product_id=(Product, body.product_id))
    article = KnowledgeArticle(id=uuid.uuid4(), **body.model_dump())
    await save(db, article, conflict="the article conflicts with an existing one")
    return KnowledgeRead.model_validate(article)


async def search(*, db: AsyncSession, principal: Principal, q: str, limit: int) -> dict:
    """Articles ranked by where the words of `q` occur: title 3, tag 2, body 1."""
    terms = list(dict.fromkeys(q.casefold().split()))[:20]
    if not terms:
        return {"items": [], "next_cursor": None}
    text = func.concat_ws(
        " ", KnowledgeArticle.title, KnowledgeArticle.body, cast(KnowledgeArticle.tags, Text)
    )
    query = select(KnowledgeArticle).where(or_(*(text.ilike(_like(t)) for t in terms)))
    if not sees_drafts(principal):
        query = query.where(KnowledgeArticle.published.is_(True))
    rows = await db.scalars(query.limit(SEARCH_CANDIDATES))
    ranked = sorted(
        ((score(a, terms), a) for a in rows), key=lambda p: (-p[0], -p[1].deflections, p[1].title)
    )
    items = [KnowledgeRead.model_validate(a) for s, a in ranked if s > 0][:limit]
    return {"items": items, "next_cursor": None}


async def get(*, db: AsyncSession, principal: Principal, article_id: uuid.UUID) -> KnowledgeRead:
    article = await db.get(KnowledgeArticle, article_id)
    if article is None or not (article.published or sees_drafts(principal)):
        raise not_found("knowledge article")
    return KnowledgeRead.model_validate(article)


async def deflect(*, db: AsyncSession, principal: Principal, article_id: uuid.UUID) -> Deflections:
    """The article answered the question, so no case was opened."""
    stmt = (
        update(KnowledgeArticle)
        .where(KnowledgeArticle.id == article_id)
        .values(deflections=KnowledgeArticle.deflections + 1)
        .returning(KnowledgeArticle.id, KnowledgeArticle.deflections)
    )
    if not sees_drafts(principal):
        stmt = stmt.where(KnowledgeArticle.published.is_(True))
    row = (await db.execute(stmt)).first()
    if row is None:
        raise not_found("knowledge article")
    await db.commit()
    return Deflections(id=row.id, deflections=row.deflections)
