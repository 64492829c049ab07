"""Every patch id the workflows use is in the registry, and none outlives its version."""

import ast
from importlib.metadata import version
from pathlib import Path

import workflows
from workflows.patches import PATCHES, Patch

WORKFLOWS = Path(workflows.__file__).parent
CALLS = ("patched", "deprecate_patch")


def patch_ids(source: str) -> set[str]:
    """The ids passed to workflow.patched / workflow.deprecate_patch in a module, literal or
    through a module-level string constant."""
    tree = ast.parse(source)
    constants = {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets
        if isinstance(target, ast.Name) and isinstance(node.value.value, str)
    }
    found = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in CALLS
            and node.args
        ):
            arg = node.args[0]
            if isinstance(arg, ast.Constant):
                found.add(arg.value)
            elif isinstance(arg, ast.Name):
                found.add(constants.get(arg.id, f"<unresolved {arg.id}>"))
    return found


def used_ids() -> set[str]:
    return set().union(*(patch_ids(p.read_text()) for p in WORKFLOWS.glob("*.py")))


def as_version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:3])


def problems(used: set[str], registry: tuple[Patch, ...], current: str) -> list[str]:
    registered = {p.id for p in registry}
    found = [f"{i!r} is used but not registered" for i in sorted(used - registered)]
    found += [f"{i!r} is registered but not used" for i in sorted(registered - used)]
    found += [
        f"{p.id!r} outlived its remove_after {p.remove_after} (now {current})"
        for p in registry
        if as_version(current) > as_version(p.remove_after)
    ]
    return found


def test_the_workflows_match_the_registry():
    assert problems(used_ids(), PATCHES, version("casework")) == []


def test_the_baseline_has_no_patches():
    if as_version(version("casework")) == (0, 1, 0):
        assert used_ids() == set() and PATCHES == ()


def test_the_check_finds_each_kind_of_problem():
    source = 'X = "b"\nworkflow.patched("a")\nworkflow.deprecate_patch(X)\n'
    assert patch_ids(source) == {"a", "b"}
    old = Patch("b", "why", added_in="0.2.0", remove_after="0.3.0")
    unused = Patch("c", "why", added_in="0.2.0", remove_after="9.0.0")
    assert problems({"a", "b"}, (old, unused), "0.4.0") == [
        "'a' is used but not registered",
        "'c' is registered but not used",
        "'b' outlived its remove_after 0.3.0 (now 0.4.0)",
    ]
