"""Knowledge articles: write and edit (each edit a new version), full-text search ranked for
the caller's products with highlighted snippets, and customers' verdicts (deflections)."""

import re
import uuid
from datetime import UTC, datetime
from functools import reduce

from markupsafe import escape
from sqlalchemy import Float, and_, case, cast, func, literal, select, update
from sqlalchemy.dialects.postgresql import REGCONFIG, insert
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import Principal
from api.errors import not_found
from api.schemas.catalog import (
    Deflections,
    KnowledgeCreate,
    KnowledgeHit,
    KnowledgeRead,
    KnowledgeUpdate,
    NotHelpful,
)
from api.services import install_base
from api.services.catalog.common import check_refs, one, save
from models.customers import Product
from models.knowledge import KnowledgeFeedback
from models.people import KnowledgeArticle
from workflows.vocabulary import KnowledgeVerdict, Role

CONFIG = cast(literal("english"), REGCONFIG)  # the generated column's text search configuration
MAX_WORDS = 20
# Ranking, in order of weight (tests/api/test_knowledge_quality.py measures it on 50 articles):
# - ts_rank_cd, cover density with the column's weights (title A 1.0, tags B 0.4, body C 0.2),
#   normalised by document length (flag 1: 1 + log of the length), of an OR of the words, so a
#   question in the customer's own words ("my printer will not print") still finds the article
#   that matches most of them;
# - times the share of the question's words the article holds at all;
# - a bonus when every word matches (websearch_to_tsquery, the strict reading of the question);
# - times PRODUCT_BOOST when the article is about a product of the caller's install base.
ALL_WORDS_BONUS = 0.1
PRODUCT_BOOST = 1.5
# Private-use markers ts_headline puts around matches and between fragments: the snippet is
# HTML-escaped first, then they become <mark> and " … ", so an article's text never becomes markup.
START, STOP, GAP = "\ue000", "\ue001", "\ue002"
HEADLINE = (
    f'StartSel="{START}", StopSel="{STOP}", FragmentDelimiter="{GAP}", '
    "MaxFragments=2, MaxWords=24, MinWords=8"
)
# websearch syntax (quotes, OR, a leading minus): the customer asked for exactly that.
OPERATORS = re.compile(r'"|(^|\s)-\w|\sor\s', re.IGNORECASE)


def sees_drafts(principal: Principal) -> bool:
    return principal.is_staff or principal.role == Role.INTEGRATION


def words(q: str) -> list[str]:
    return list(dict.fromkeys(re.findall(r"\w+", q.casefold())))[:MAX_WORDS]


def snippet_html(raw: str) -> str:
    """ts_headline's text, escaped, with its markers as <mark> and " … "."""
    safe = str(escape(raw))
    return safe.replace(START, "<mark>").replace(STOP, "</mark>").replace(GAP, " … ")


async def create(*, db: AsyncSession, body: KnowledgeCreate) -> KnowledgeRead:
    await check_refs(db, product_id=(Product, body.product_id))
    article = KnowledgeArticle(id=uuid.uuid4(), **body.model_dump())
    await save(db, article, conflict="the article conflicts with an existing one")
    return KnowledgeRead.model_validate(article)


async def edit(*, db: AsyncSession, article_id: uuid.UUID, body: KnowledgeUpdate) -> KnowledgeRead:
    """The fields given replace theirs; the version goes up by one (in the same UPDATE, so two
    concurrent edits make two versions)."""
    await check_refs(db, product_id=(Product, body.product_id))
    changes = body.model_dump(exclude_unset=True)
    for field in ("title", "body", "tags", "published"):
        if field in changes and changes[field] is None:
            del changes[field]  # only product_id may be cleared
    stmt = (
        update(KnowledgeArticle)
        .where(KnowledgeArticle.id == article_id)
        .values(**changes, version=KnowledgeArticle.version + 1, updated_at=datetime.now(UTC))
        .returning(KnowledgeArticle.id)
    )
    if (await db.execute(stmt)).first() is None:
        raise not_found("knowledge article")
    await db.commit()
    return KnowledgeRead.model_validate(await one(db, KnowledgeArticle, article_id))


def ranked_query(q: str, products: list[uuid.UUID]):
    """The SELECT of (article, rank, headline, for_your_products) matching `q`, best first."""
    strict = func.websearch_to_tsquery(CONFIG, q)
    document = KnowledgeArticle.search
    if OPERATORS.search(q):
        match, rank = document.op("@@")(strict), func.ts_rank_cd(document, strict, 1)
        headline_query = strict
    else:
        terms = words(q)
        loose = reduce(lambda a, b: a.op("||")(b), (func.plainto_tsquery(CONFIG, w) for w in terms))
        held = reduce(
            lambda a, b: a + b,
            (
                case((document.op("@@")(func.plainto_tsquery(CONFIG, w)), 1.0), else_=0.0)
                for w in terms
            ),
        )
        # Stop words ("the", "my") make empty queries: share over the words that mean something.
        meaningful = reduce(
            lambda a, b: a + b,
            (
                case((func.numnode(func.plainto_tsquery(CONFIG, w)) > 0, 1.0), else_=0.0)
                for w in terms
            ),
        )
        coverage = held / func.greatest(meaningful, 1.0)
        all_words = case((document.op("@@")(strict), ALL_WORDS_BONUS), else_=0.0)
        match = document.op("@@")(loose)
        rank = cast(func.ts_rank_cd(document, loose, 1), Float) * coverage + all_words
        headline_query = loose
    # An article about no product is nobody's: false, not NULL.
    yours = (
        func.coalesce(KnowledgeArticle.product_id.in_(products), False)
        if products
        else literal(False)
    )
    score = rank * case((yours, PRODUCT_BOOST), else_=1.0)
    headline = func.ts_headline(CONFIG, KnowledgeArticle.body, headline_query, HEADLINE)
    return (
        select(KnowledgeArticle, score.label("rank"), headline.label("snippet"), yours)
        .where(match)
        .order_by(score.desc(), KnowledgeArticle.deflections.desc(), KnowledgeArticle.title)
    )


async def search(*, db: AsyncSession, principal: Principal, q: str, limit: int) -> dict:
    """Published articles (staff see drafts too) matching the words of `q`, best first, each
    with a highlighted snippet; the caller's own products' articles ranked up."""
    if not words(q):
        return {"items": [], "next_cursor": None}
    products = await install_base.product_ids(db, principal)
    query = ranked_query(q.replace("\x00", ""), products)
    if not sees_drafts(principal):
        query = query.where(KnowledgeArticle.published.is_(True))
    rows = (await db.execute(query.limit(limit))).all()
    items = [
        KnowledgeHit.model_validate(
            KnowledgeRead.model_validate(article).model_dump()
            | {"rank": round(rank, 6), "snippet": snippet_html(snip), "for_your_products": yours}
        )
        for article, rank, snip, yours in rows
    ]
    return {"items": items, "next_cursor": None}


async def visible(db: AsyncSession, principal: Principal, article_id: uuid.UUID):
    article = await db.get(KnowledgeArticle, article_id)
    if article is None or not (article.published or sees_drafts(principal)):
        raise not_found("knowledge article")
    return article


async def get(*, db: AsyncSession, principal: Principal, article_id: uuid.UUID) -> KnowledgeRead:
    return KnowledgeRead.model_validate(await visible(db, principal, article_id))


async def record(
    db: AsyncSession,
    principal: Principal,
    article_id: uuid.UUID,
    verdict: KnowledgeVerdict,
    query: str | None,
) -> bool:
    """One verdict, once per customer, article, kind and day; True when this one counted."""
    article = await visible(db, principal, article_id)
    now = datetime.now(UTC)
    stmt = (
        insert(KnowledgeFeedback)
        .values(
            id=uuid.uuid4(),
            article_id=article.id,
            verdict=verdict,
            customer_role=principal.role,
            customer_id=principal.subject_id,
            day=now.date(),
            query=(query or "")[:300] or None,
            article_version=article.version,
            at=now,
        )
        .on_conflict_do_nothing(
            index_elements=["article_id", "customer_id", "verdict", "day"],
            index_where=KnowledgeFeedback.customer_id.is_not(None),
        )
        .returning(KnowledgeFeedback.id)
    )
    return (await db.execute(stmt)).first() is not None


async def deflect(
    *, db: AsyncSession, principal: Principal, article_id: uuid.UUID, query: str | None = None
) -> Deflections:
    """The article answered the question, so no case was opened: counted once a day per
    customer (a second click the same day answers the same count)."""
    counted = await record(db, principal, article_id, KnowledgeVerdict.SOLVED, query)
    stmt = select(KnowledgeArticle.deflections).where(KnowledgeArticle.id == article_id)
    if counted:
        stmt = (
            update(KnowledgeArticle)
            .where(KnowledgeArticle.id == article_id)
            .values(deflections=KnowledgeArticle.deflections + 1)
            .returning(KnowledgeArticle.deflections)
        )
    deflections = (await db.execute(stmt)).scalar_one()
    await db.commit()
    return Deflections(id=article_id, deflections=deflections)


async def not_helpful(
    *, db: AsyncSession, principal: Principal, article_id: uuid.UUID, query: str | None = None
) -> NotHelpful:
    """The article did not answer the question (once a day per customer)."""
    await record(db, principal, article_id, KnowledgeVerdict.NOT_HELPFUL, query)
    count = await db.scalar(
        select(func.count()).where(
            and_(
                KnowledgeFeedback.article_id == article_id,
                KnowledgeFeedback.verdict == KnowledgeVerdict.NOT_HELPFUL,
            )
        )
    )
    await db.commit()
    return NotHelpful(id=article_id, not_helpful=count or 0)
