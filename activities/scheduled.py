"""The scheduled runs' activities: each finds a page of what falls due, or opens its cases."""

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity

from activities import expiry, maintenance
from activities.db import transaction
from activities.deps import Deps
from activities.scheduled_cases import Due, open_once, record_run
from workflows.scheduled_types import DuePage, DueQuery, OpenDue, OpenedDue, RunRecord, RunSummary

Finder = Callable[[AsyncSession, DueQuery], Awaitable[DuePage]]
CaseMaker = Callable[[AsyncSession, OpenDue], Awaitable[list[Due]]]


class ScheduledActivities:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def _find(self, arg: DueQuery, find: Finder) -> DuePage:
        async with transaction(self.deps.sessions) as db:
            return await find(db, arg)

    async def _open(self, arg: OpenDue, cases: CaseMaker) -> OpenedDue:
        async with transaction(self.deps.sessions) as db:
            dues = await cases(db, arg)
        return OpenedDue(await open_once(self.deps, arg.run_key, dues))

    @activity.defn(name="find_due_assets")
    async def find_due_assets(self, arg: DueQuery) -> DuePage:
        """One page of the plan's assets (by id), and those of them falling due."""
        return await self._find(arg, maintenance.due_assets)

    @activity.defn(name="open_maintenance_cases")
    async def open_maintenance_cases(self, arg: OpenDue) -> OpenedDue:
        """A case per due asset, once per asset and due date, whatever retries happen."""
        return await self._open(arg, maintenance.maintenance_cases)

    @activity.defn(name="find_expiring_entitlements")
    async def find_expiring_entitlements(self, arg: DueQuery) -> DuePage:
        """One page of active entitlements ending between today and today + lead_days."""
        return await self._find(arg, expiry.expiring)

    @activity.defn(name="open_expiry_cases")
    async def open_expiry_cases(self, arg: OpenDue) -> OpenedDue:
        """A case per ending entitlement, once per entitlement and end date."""
        return await self._open(arg, expiry.expiry_cases)

    @activity.defn(name="record_scheduled_run")
    async def record_scheduled_run(self, arg: RunRecord) -> RunSummary:
        """The run's counts, kept for GET /maintenance-plans/{id} (one row per run)."""
        return await record_run(self.deps, arg)
