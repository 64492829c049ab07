"""The knowledge search reads through its GIN index, not a scan of every article: EXPLAIN on
5k generated articles after VACUUM ANALYZE, the planner as is."""

import uuid

from sqlalchemy import text
from sqlalchemy.dialects import postgresql

from api.services.catalog.knowledge import ranked_query

ROWS = 5_000
# Each article names one of 400 generated words in its title and another in its body, so any
# one word is in about 0.5 % of the articles.
GENERATE = text(
    """
INSERT INTO knowledge_articles (id, title, body, tags, published, deflections, version,
  created_at)
SELECT gen_random_uuid(), 'How to fix word' || (i % 400), 'Steps for term' || (i % 397) ||
  ' and the usual checks of cables, power and settings.', '["howto"]', true, 0, 1, now()
FROM generate_series(1, :rows) AS i
"""
)


async def test_the_search_uses_the_gin_index(sessions):
    async with sessions() as db, db.begin():
        await db.execute(GENERATE, {"rows": ROWS})
    # VACUUM as autovacuum would: it moves a bulk load out of the GIN index's pending list,
    # which the planner otherwise costs as a scan of its own.
    engine = sessions.kw["bind"]
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE knowledge_articles"))
    for q, products in (("word17 broken", []), ('"fix word17"', [uuid.uuid4()])):
        query = ranked_query(q, products).limit(20)
        sql = query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
        async with sessions() as db:
            shown = "\n".join((await db.execute(text(f"EXPLAIN {sql}"))).scalars())
        assert "ix_knowledge_articles_search" in shown, shown
        assert "Seq Scan" not in shown, shown
