"""A major case's fan-out steps: open, resolve or tell the major case, then its children by batch.

Every write is keyed so a batch run twice (a worker killed mid-way, a retry) does nothing
twice: a child case's workflow id is `case-<number>` reserved when the event was posted and
its row is inserted by the batch's bulk intake (ON CONFLICT DO NOTHING, the intake and the
routing decision found again on a rerun); a resolve update's id is the
fan-out's id; a broadcast's timeline event and outbox row are keyed by the fan-out's id.
"""

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities import outbox
from activities.bulk_open import each, open_in_bulk
from activities.db import event_once, transaction
from activities.deps import Deps
from models.cases import Case
from models.customers import Asset
from models.events import Event, EventCustomer
from workflows.actions import Action, ActionResult, ResolveInput
from workflows.case import CaseWorkflow
from workflows.case_data import CaseInput
from workflows.fan_out_types import BatchDone, FanOutBatch, FanOutTarget, MajorStepResult
from workflows.types import NewCase, Opened, WhenOpened
from workflows.vocabulary import ACTIVE, INVALID, NOT_ALLOWED, CaseState, Channel, FanOutKind, Role

MAX_LISTED_ASSETS = 20  # the child's description names at most this many assets
BROADCAST_EVENT = "broadcast"
HEARTBEAT_EVERY = 3.0  # seconds, while waiting on another workflow or the children
STALL_SECONDS = 120.0
UPDATE_RPC_TIMEOUT = timedelta(seconds=15)


def case_workflow_id(number: str) -> str:
    return f"case-{number}"


def open_fan_out_id(event_ref: str) -> str:
    """The id of the fan-out that opens an event's major case and children."""
    return f"event-{event_ref}"


async def finished(client: Client, workflow_id: str) -> None:
    """Wait (heartbeating) until the workflow has ended, however it ended."""
    waiting = asyncio.ensure_future(client.get_workflow_handle(workflow_id).result())
    while not waiting.done():
        activity.heartbeat()
        await asyncio.wait({waiting}, timeout=HEARTBEAT_EVERY)
    if not waiting.cancelled():
        waiting.exception()  # read, so an ended-in-failure run is not reported as unread


def describe(summary: str, assets: list[tuple[str, str | None, str | None]]) -> str:
    """The child case's description: the event, then the customer's affected assets."""
    lines = [
        f"- {serial or asset_id}" + (f" ({loc})" if loc else "") for asset_id, serial, loc in assets
    ]
    more = len(lines) - MAX_LISTED_ASSETS
    listed = lines[:MAX_LISTED_ASSETS] + ([f"- and {more} more"] if more > 0 else [])
    return f"{summary}\n\nYour affected equipment:\n" + "\n".join(listed)


def refused(err: WorkflowUpdateFailedError) -> MajorStepResult:
    cause = err.cause
    if isinstance(cause, ApplicationError):
        return MajorStepResult(False, refusal_type=cause.type or NOT_ALLOWED, message=cause.message)
    return MajorStepResult(False, refusal_type=NOT_ALLOWED, message=str(cause or err))


async def resolve(
    client: Client,
    workflow_id: str,
    text: str | None,
    update_id: str,
    actor: tuple[str, str | None],
) -> MajorStepResult:
    """The ordinary `resolve` update on a case, with an id that makes a resend apply once."""
    handle = client.get_workflow_handle(workflow_id)
    arg = ResolveInput(resolution=text, actor_role=actor[0], actor_id=actor[1])
    try:
        got = await handle.execute_update(
            str(Action.RESOLVE),
            arg,
            id=update_id,
            result_type=ActionResult,
            # An answer that never comes (a lost long-poll) fails the batch, whose retry
            # sends the same update id: the case applies it once and answers again.
            rpc_timeout=UPDATE_RPC_TIMEOUT,
        )
    except WorkflowUpdateFailedError as err:
        return refused(err)
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise  # busy or away: the activity retries, with the same update id
        return MajorStepResult(False, refusal_type=NOT_ALLOWED, message="the case has ended")
    return MajorStepResult(True, state=got.state)


class MajorCaseActivities:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    # ----- the major case's own step ----------------------------------------------------

    @activity.defn(name="major_case_step")
    async def major_case_step(self, arg: FanOutTarget) -> MajorStepResult:
        match arg.kind:
            case FanOutKind.OPEN:
                return await self._open_major(arg)
            case FanOutKind.RESOLVE:
                actor = (arg.actor_role, arg.actor_id)
                workflow_id = case_workflow_id(arg.major_number)
                return await resolve(
                    activity.client(), workflow_id, arg.text, arg.fan_out_id, actor
                )
            case _:
                return await self._record_broadcast(arg)

    async def _all_opened(self, event_ref: str) -> None:
        """Wait (heartbeating) until the event's fan-out has started every child and each
        child's intake has written its row, so a clear or broadcast right after the post
        reaches them all; a child that makes no progress for STALL_SECONDS is not waited for
        (its intake failed for good: it has no row to reach)."""
        await finished(activity.client(), open_fan_out_id(event_ref))
        query = (
            select(
                func.count(EventCustomer.seq),
                func.count(Case.id).filter(Case.state != CaseState.NEW),
            )
            .select_from(EventCustomer)
            .outerjoin(Case, Case.id == EventCustomer.case_id)
            .where(EventCustomer.event_ref == uuid.UUID(event_ref))
        )
        last, since = -1, time.monotonic()
        while True:
            async with transaction(self.deps.sessions) as db:
                affected, opened = (await db.execute(query)).one()
            if opened >= affected:
                return
            if opened != last:
                last, since = opened, time.monotonic()
            elif time.monotonic() - since > STALL_SECONDS:
                activity.logger.warning(
                    "event %s: %d of %d children never opened",
                    event_ref,
                    affected - opened,
                    affected,
                )
                return
            activity.heartbeat()
            await asyncio.sleep(HEARTBEAT_EVERY)

    async def _open_major(self, arg: FanOutTarget) -> MajorStepResult:
        async with transaction(self.deps.sessions) as db:
            event = await db.get(Event, uuid.UUID(arg.event_ref or ""))
        if event is None:
            raise ApplicationError("no such event", type=INVALID, non_retryable=True)
        new = NewCase(
            subject=event.summary,
            channel=Channel.EVENT,
            description=f"Major case of event {event.event_id} from {event.source}.",
            product_id=str(event.product_id) if event.product_id else None,
            priority=event.severity,
            queue=event.queue,
        )
        start = WithStartWorkflowOperation(
            CaseWorkflow.run,
            CaseInput(arg.major_case_id, arg.major_number, new=new),
            id=case_workflow_id(arg.major_number),
            task_queue=activity.info().task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
        try:
            opened: Opened = await activity.client().execute_update_with_start_workflow(
                CaseWorkflow.opened,  # type: ignore[arg-type]
                WhenOpened(),
                start_workflow_operation=start,
                id=f"opened-{arg.major_case_id}",
            )
        except WorkflowAlreadyStartedError:  # it has run its course already: it was opened
            return MajorStepResult(True, state="")
        except WorkflowUpdateFailedError as err:  # intake refused it for good
            return refused(err)
        return MajorStepResult(True, state=opened.state)

    async def _record_broadcast(self, arg: FanOutTarget) -> MajorStepResult:
        async with transaction(self.deps.sessions) as db:
            await event_once(
                db,
                case_id=uuid.UUID(arg.major_case_id),
                key=f"{BROADCAST_EVENT}:{arg.fan_out_id}",
                kind=BROADCAST_EVENT,
                actor_role=arg.actor_role,
                actor_id=arg.actor_id,
                body=arg.text,
                public=True,
                data={"fan_out_id": arg.fan_out_id},
                at=datetime.now(UTC),
            )
        return MajorStepResult(True)

    # ----- the children, a batch at a time ----------------------------------------------

    @activity.defn(name="fan_out_batch")
    async def fan_out_batch(self, arg: FanOutBatch) -> BatchDone:
        if arg.kind != FanOutKind.OPEN and arg.event_ref and arg.after is None:
            await self._all_opened(arg.event_ref)  # an event's children first, all of them
        match arg.kind:
            case FanOutKind.OPEN:
                return await self._open_children(arg)
            case FanOutKind.RESOLVE:
                return await self._resolve_children(arg)
            case _:
                return await self._broadcast(arg)

    async def _open_children(self, arg: FanOutBatch) -> BatchDone:
        event_ref = uuid.UUID(arg.event_ref or "")
        async with transaction(self.deps.sessions) as db:
            event = await db.get(Event, event_ref)
            if event is None:
                raise ApplicationError("no such event", type=INVALID, non_retryable=True)
            rows = (
                (
                    await db.execute(
                        select(EventCustomer)
                        .where(
                            EventCustomer.event_ref == event_ref,
                            EventCustomer.seq > int(arg.after or -1),
                        )
                        .order_by(EventCustomer.seq)
                        .limit(arg.limit)
                    )
                )
                .scalars()
                .all()
            )
            queue = (
                await db.execute(select(Case.queue).where(Case.id == event.major_case_id))
            ).scalar()
            assets = await asset_details(db, [a for r in rows for a in r.asset_ids])
        if not rows:
            return BatchDone(0)

        def child(row: EventCustomer) -> NewCase:
            mine = [assets[a] for a in row.asset_ids if a in assets]
            return NewCase(
                subject=event.summary,
                channel=Channel.EVENT,
                description=describe(event.summary, [(a, s, loc) for a, s, loc, _ in mine]),
                contact_id=str(row.contact_id) if row.contact_id else None,
                account_id=str(row.account_id) if row.account_id else None,
                consumer_id=str(row.consumer_id) if row.consumer_id else None,
                product_id=str(event.product_id or (mine[0][3] if mine else "")) or None,
                asset_id=row.asset_ids[0] if len(row.asset_ids) == 1 else None,
                priority=event.severity,
                queue=queue or event.queue,
                parent_case_id=arg.major_case_id,
            )

        await open_in_bulk(self.deps, [(str(r.case_id), r.number, child(r)) for r in rows])
        return BatchDone(len(rows), last=str(rows[-1].seq))

    async def _children(self, db: AsyncSession, arg: FanOutBatch, *columns: Any) -> list[Any]:
        query = select(Case.id, *columns).where(Case.parent_case_id == uuid.UUID(arg.major_case_id))
        if arg.after:
            query = query.where(Case.id > uuid.UUID(arg.after))
        return list((await db.execute(query.order_by(Case.id).limit(arg.limit))).all())

    async def _resolve_children(self, arg: FanOutBatch) -> BatchDone:
        async with transaction(self.deps.sessions) as db:
            rows = await self._children(db, arg, Case.workflow_id, Case.state)
        if not rows:
            return BatchDone(0)
        client = activity.client()

        async def resolve_child(row: Any) -> bool:
            if row.state not in ACTIVE:  # resolved, closed or cancelled: left alone
                return False
            got = await resolve(
                client, row.workflow_id, arg.text, arg.fan_out_id, (Role.SYSTEM, None)
            )
            return got.ok

        applied = await each(rows, resolve_child)
        return BatchDone(len(rows), last=str(rows[-1].id), skipped=len(rows) - applied)

    async def _broadcast(self, arg: FanOutBatch) -> BatchDone:
        """One transaction per batch: each child's timeline event and its customer's outbox
        row, both keyed by the fan-out's id (a rerun finds them and adds nothing)."""
        now, key = datetime.now(UTC), f"{BROADCAST_EVENT}:{arg.fan_out_id}"
        async with transaction(self.deps.sessions) as db:
            rows = await self._children(db, arg, *outbox.CASE_COLUMNS[1:])
            for row in rows:
                await event_once(
                    db,
                    case_id=row.id,
                    key=key,
                    kind=BROADCAST_EVENT,
                    actor_role=Role.SYSTEM,
                    actor_id=None,
                    body=arg.text,
                    public=True,
                    data={"major_case_id": arg.major_case_id},
                    at=now,
                )
                await outbox.enqueue(
                    db,
                    case=row,
                    key=f"{row.id}:{key}",
                    template=BROADCAST_EVENT,
                    to="customer",
                    portal_url=self.deps.portal_url,
                    body=arg.text,
                )
        if not rows:
            return BatchDone(0)
        return BatchDone(len(rows), last=str(rows[-1].id))


async def asset_details(
    db: AsyncSession, ids: list[str]
) -> dict[str, tuple[str, str | None, str | None, str]]:
    """{asset id: (id, serial, location, product id)} of the given assets."""
    if not ids:
        return {}
    rows = await db.execute(
        select(Asset.id, Asset.serial, Asset.location, Asset.product_id).where(
            Asset.id.in_([uuid.UUID(i) for i in ids])
        )
    )
    return {str(r.id): (str(r.id), r.serial, r.location, str(r.product_id)) for r in rows}
