"""Run a process's main coroutine on uvloop where it is installed, else on asyncio's own loop
(uvloop does not build on Windows; pyproject.toml installs it everywhere else)."""

import asyncio
from collections.abc import Coroutine
from typing import Any


def run(main: Coroutine[Any, Any, Any]) -> Any:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    # The event loop's own work is a fifth of an action's worker CPU on asyncio's loop.
    return uvloop.run(main)
