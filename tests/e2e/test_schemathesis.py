"""Schemathesis against /openapi.json on the running stack, as admin and as an agent: no 5xx,
every response as documented (status, content type, schema), auth enforced everywhere.
Stateful too: schemathesis follows the links between operations."""

import asyncio
import os
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
CONFIGS = Path(__file__).resolve().parent.parent / "security"
ROOT = Path(__file__).resolve().parents[2]
HOOKS = {"SCHEMATHESIS_HOOKS": "tests.security.schemathesis_hooks"}


async def schemathesis(url: str, token: str, config: Path, tmp_path: Path) -> tuple[int, str]:
    """Run the CLI without blocking the event loop that serves the API it is testing."""
    assert (Path(sys.prefix) / "bin" / "schemathesis").exists(), "pip install -e '.[test]'"
    proc = await asyncio.create_subprocess_exec(
        *[
            str(Path(sys.prefix) / "bin" / "schemathesis"),
            "--config-file",
            str(config),
            "run",
            f"{url}/openapi.json",
            "--checks",
            "all",
            "--header",
            f"Authorization: Bearer {token}",
            "--seed",
            "1",
        ],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=tmp_path,
        env=os.environ | HOOKS | {"PYTHONPATH": str(ROOT)},
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=600)
    return proc.returncode, out.decode(errors="replace")


@pytest.mark.parametrize("role", ["admin", "agent"])
async def test_schemathesis_finds_nothing(stack, role, tmp_path):
    http = stack["http"]
    token = http.headers["authorization"].removeprefix("Bearer ")
    if role == "agent":
        agent = await http.post(
            "/api/v1/agents", json={"name": "Fuzz", "email": "fuzz@casework.example"}
        )
        minted = await http.post(
            "/api/v1/tokens", json={"role": "agent", "subject_id": agent.json()["id"]}
        )
        token = minted.json()["token"]
    config = CONFIGS / ("schemathesis.toml" if role == "admin" else "schemathesis-agent.toml")
    code, out = await schemathesis(str(http.base_url).rstrip("/"), token, config, tmp_path)
    failures = out[out.find("FAILURES") :] if "FAILURES" in out else out[-4000:]
    assert code == 0, failures[:8000]
