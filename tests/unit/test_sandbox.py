"""The `workflows` package is passed through the sandbox, so it must keep no state."""

import importlib
import pkgutil

import workflows
from workflows.sandbox import PASSED_THROUGH

MUTABLE = (list, dict, set, bytearray)


def _modules():
    for info in pkgutil.iter_modules(workflows.__path__):
        yield importlib.import_module(f"workflows.{info.name}")


def test_the_workflows_package_is_passed_through():
    assert "workflows" in PASSED_THROUGH


def test_no_workflow_module_holds_mutable_state():
    found = [
        f"{module.__name__}.{name}"
        for module in _modules()
        for name, value in vars(module).items()
        if not name.startswith("__") and isinstance(value, MUTABLE)
    ]
    # Shared by every case on a worker: a module-level list or dict would leak between them.
    assert found == []


def test_the_check_sees_a_module_level_list(monkeypatch):
    import workflows.lifecycle as lifecycle

    monkeypatch.setattr(lifecycle, "LEAK", [], raising=False)
    assert isinstance(vars(lifecycle)["LEAK"], MUTABLE)
