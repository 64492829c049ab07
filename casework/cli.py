"""The `casework` command: run the stack or its parts, migrate, mint tokens, try a demo case."""

import asyncio
import json
import os
import sys
from pathlib import Path

import typer

app = typer.Typer(help="Casework: customer service in which every case is a durable workflow.")


@app.command()
def dev(
    demo: bool = typer.Option(True, help="Load the demo data set (once)."),
    temporal_port: int = typer.Option(7233, help="The Temporal dev server's gRPC port."),
    temporal_ui_port: int = typer.Option(8233, help="The Temporal Web UI's port."),
    smtp_port: int = typer.Option(1025, help="The SMTP sink's port."),
) -> None:
    """Start everything locally: PostgreSQL, Temporal (+UI), SMTP sink, worker and API.

    The API listens on CASEWORK_API_PORT (8000); data stays in CASEWORK_HOME (.casework).
    Ctrl-C (or SIGTERM) stops it all within seconds; a second one stops it at once."""
    from casework.dev import Ports, missing_dev_extra, run_dev

    if missing := missing_dev_extra():
        typer.echo(
            f"casework dev needs the dev extra, which is not installed ({', '.join(missing)}): "
            "pip install 'casework[dev]' (a checkout: make up)",
            err=True,
        )
        raise typer.Exit(2)
    run_dev(load_demo=demo, ports=Ports(temporal_port, temporal_ui_port, smtp_port))


@app.command()
def worker() -> None:
    """Run a Temporal worker against DATABASE_URL and TEMPORAL_ADDRESS."""
    from casework.worker import main

    main()


@app.command()
def api(
    host: str = typer.Option(None, help="Bind address (default CASEWORK_API_HOST)."),
    port: int = typer.Option(None, help="Port (default CASEWORK_API_PORT)."),
) -> None:
    """Serve the REST API and pages with uvicorn."""
    import uvicorn

    from api.app import create_app
    from casework.logging import configure
    from casework.settings import get_settings

    settings = get_settings()
    configure(settings.log_format, settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=host or settings.api_host,
        port=port or settings.api_port,
        log_config=None,  # uvicorn's loggers pass their lines to ours (JSON or text)
    )


@app.command("mail-intake")
def mail_intake(
    host: str = typer.Option("127.0.0.1", help="Bind address (0.0.0.0: every interface)."),
    port: int = typer.Option(2525, help="Port (25 for an MX; 2525 needs no privileges)."),
) -> None:
    """Run an SMTP server that takes inbound mail into cases (as POST /inbound/email does).

    Point the MX (or the mail gateway's forwarding) at it. Uses DATABASE_URL, TEMPORAL_ADDRESS
    and the CASEWORK_MAIL_* settings; Ctrl-C or SIGTERM stops it."""
    from casework.logging import configure
    from casework.mail_intake import run
    from casework.settings import get_settings

    settings = get_settings()
    configure(settings.log_format, settings.log_level)
    run(settings, host, port)


@app.command()
def migrate(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply database migrations (Alembic) up to REVISION."""
    from casework.settings import get_settings
    from models.migrate import upgrade

    upgrade(get_settings().database_url, revision)
    typer.echo(f"database at {revision}")


@app.command("search-attributes")
def search_attributes() -> None:
    """Register the case workflows' search attributes on TEMPORAL_NAMESPACE (idempotent);
    run once per namespace on a cluster before the first worker starts."""
    from casework import temporal
    from casework.search_attributes import register
    from casework.settings import get_settings

    async def run() -> list[str]:
        client = await temporal.connect(get_settings())
        return await register(client, client.namespace)

    added = asyncio.run(run())
    typer.echo(f"registered: {', '.join(added)}" if added else "all registered already")
    exit_now()


def exit_now(code: int = 0) -> None:
    """End a short command that used a Temporal client without the interpreter's teardown:
    the SDK's Rust threads can outlive the event loop, and finalizing under them now and then
    aborts the process ("PyGILState_Release: thread state ... must be current"; the Python
    SDK's issue 300). Its work is done and its output flushed first."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _admin_headers(url: str) -> dict:
    token = os.environ.get("CASEWORK_ADMIN_TOKEN")
    path = Path(os.environ.get("CASEWORK_HOME", ".casework")) / "admin-token"
    if not token and path.exists():
        token = path.read_text().strip()
    if not token:
        raise typer.BadParameter("set CASEWORK_ADMIN_TOKEN or run `casework dev` first")
    return {"Authorization": f"Bearer {token}"}


@app.command()
def demo(
    url: str = typer.Option("http://127.0.0.1:8000", help="The API's base URL."),
) -> None:
    """Walk one demo case through its life on a running stack, printing each step."""
    from casework.demo_run import run_demo

    asyncio.run(run_demo(url, _admin_headers(url)))


@app.command()
def token(
    role: str = typer.Argument(..., help="admin, supervisor, agent, technician, ..."),
    subject_id: str = typer.Option(None, help="The agent/contact/consumer it acts as."),
    url: str = typer.Option("http://127.0.0.1:8000", help="The API's base URL."),
) -> None:
    """Mint an API token on a running stack."""
    import httpx

    body = {"role": role} | ({"subject_id": subject_id} if subject_id else {})
    r = httpx.post(f"{url}/api/v1/tokens", json=body, headers=_admin_headers(url))
    typer.echo(json.dumps(r.json(), indent=2))


if __name__ == "__main__":
    app()
