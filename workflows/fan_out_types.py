"""The dataclasses a major case's fan-out passes across Temporal (workflow, update, activities).

Ids and cursors only: bodies stay small, and the customer rows live in PostgreSQL.
"""

from dataclasses import dataclass, fields

from workflows.vocabulary import Role


@dataclass
class MajorStepResult:
    """How the major case's own step went (opened, resolved or told): the API answers it."""

    ok: bool
    state: str = ""
    refusal_type: str | None = None  # NOT_ALLOWED (409) or INVALID (422) when not ok
    message: str | None = None


@dataclass(kw_only=True)
class FanOutTarget:
    """What a fan-out does and to which major case: the major case's own step takes this."""

    kind: str  # FanOutKind
    major_case_id: str
    major_number: str
    fan_out_id: str  # the workflow's own id: it keys every write, so no retry writes twice
    event_ref: str | None = None  # OPEN: the event whose customers are opened
    text: str | None = None  # RESOLVE: the resolution; BROADCAST: the message
    actor_role: str = Role.SYSTEM
    actor_id: str | None = None


@dataclass(kw_only=True)
class FanOutInput(FanOutTarget):
    # Carried across continue-as-new: where the previous run stopped, and what it did.
    after: str | None = None
    done: int = 0
    step: MajorStepResult | None = None
    # 0: the defaults (workflows/fan_out.py); tests set them low to cross continue-as-new.
    batch: int = 0
    batches_per_run: int = 0

    def target(self) -> FanOutTarget:
        return FanOutTarget(**{f.name: getattr(self, f.name) for f in fields(FanOutTarget)})


@dataclass(kw_only=True)
class FanOutBatch(FanOutTarget):
    """One batch: the next `limit` children after `after`, in a stable order."""

    limit: int
    after: str | None = None


@dataclass
class WhenStepped:
    """The `major_step` update's input: it waits for the major case's own step."""


@dataclass
class BatchDone:
    count: int  # children handled in this batch (0: none left)
    last: str | None = None  # the cursor for the next batch
    skipped: int = 0  # children the step did not apply to (already closed, ended)


@dataclass
class FanOutResult:
    step: MajorStepResult
    done: int = 0  # children handled
