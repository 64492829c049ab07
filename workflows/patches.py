"""The patch registry: every `workflow.patched` id in the workflows, why, and when it goes.

Version 0.1.0 is the baseline: its workflows carry no patches, and the replay corpus was
recorded from them. After it, a change that alters the commands a running workflow makes
goes through three stages (as in temporalio/samples-python `patching/`):

1. `if workflow.patched(ID): new else: old`, registered here with `added_in` (the version
   that brings it) and `remove_after` (the last version that may still meet a run from
   before it); the corpus keeps the old history as `<path>.pre-<ID>.json` and records the
   new one.
2. Once no run from before the change can be live: `workflow.deprecate_patch(ID)` and only
   the new code; `deprecated=True` here.
3. After `remove_after`: the `deprecate_patch` call, this entry and the old histories go.

tests/unit/test_patches.py holds the code to this registry: every id used is registered,
every registered id is used, and none outlives its `remove_after`.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Patch:
    id: str
    why: str
    added_in: str
    remove_after: str
    deprecated: bool = False


PATCHES: tuple[Patch, ...] = (
    Patch(
        "major-resolve-fans-out",
        "CaseWorkflow: a major case resolved by anything (an agent, an event's clear, its own "
        "work order or incident) starts the fan-out that resolves its children; before, only "
        "the API's resolve did, and a system resolve left the children open.",
        added_in="0.2.0",
        remove_after="0.3.0",
    ),
)
