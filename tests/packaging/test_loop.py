"""The processes run on uvloop where it is installed and on asyncio's own loop where it is not
(Windows: pyproject.toml installs uvloop only elsewhere)."""

import asyncio
import sys

from casework import loop


async def loop_kind() -> str:
    return type(asyncio.get_running_loop()).__module__


def test_uvloop_when_installed():
    assert loop.run(loop_kind()).startswith("uvloop")


def test_asyncio_when_uvloop_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "uvloop", None)  # `import uvloop` raises ImportError
    assert loop.run(loop_kind()).startswith("asyncio")
