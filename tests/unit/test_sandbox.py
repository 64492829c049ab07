"""The workflow sandbox (workflows/sandbox.py): it still refuses the clock, it lets time zones
in, it passes the `workflows` package through, and what it passes through keeps no state and
does no I/O of its own (the sandbox does not look inside a passed-through module)."""

import ast
import importlib
import inspect
import pkgutil
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from temporalio import activity, workflow
from temporalio.client import WorkflowFailureError
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox._runner import _Instance

import workflows
from workflows.sandbox import IN_SANDBOX, CompiledOnceInstance, compiled, workflow_runner

with workflow.unsafe.imports_passed_through():
    from workflows import calendar

MUTABLE = (list, dict, set, bytearray)


@workflow.defn(name="SandboxProbeClock")
class ReadsTheClock:
    @workflow.run
    async def run(self) -> str:
        return datetime.now().isoformat()  # what workflow.now() is for


@workflow.defn(name="SandboxProbeZone")
class ConvertsToAZone:
    @workflow.run
    async def run(self) -> str:
        return workflow.now().astimezone(ZoneInfo("Europe/Paris")).tzname() or ""


@workflow.defn(name="SandboxProbeModule")
class SeesTheWorkflowsModule:
    @workflow.run
    async def run(self) -> str:
        return getattr(calendar, "_sandbox_probe", "a fresh copy")


@activity.defn(name="sandbox_probe_echo")
async def echo(text: str) -> str:
    return text


@workflow.defn(name="SandboxProbeLocalActivity")
class RunsALocalActivity:
    @workflow.run
    async def run(self, text: str) -> str:
        timeout = timedelta(seconds=10)
        return await workflow.execute_local_activity(echo, text, start_to_close_timeout=timeout)


async def run_probe(env, probe, runner) -> str:
    """The probe's result, or the type of the error that failed it."""
    queue = f"sandbox-{uuid.uuid4().hex[:8]}"
    async with Worker(
        env.client,
        task_queue=queue,
        workflows=[probe],
        workflow_runner=runner,
        # Fail the workflow instead of retrying its task, so the test sees the refusal.
        workflow_failure_exception_types=[Exception],
    ):
        try:
            return await env.client.execute_workflow(probe.run, id=queue, task_queue=queue)
        except WorkflowFailureError as err:
            return f"failed: {err.cause.type or err.cause.message}"


async def test_reading_the_clock_inside_a_workflow_is_refused(ts_env):
    got = await run_probe(ts_env, ReadsTheClock, workflow_runner())
    assert got.startswith("failed: RestrictedWorkflowAccessError"), got


async def test_time_zones_work_inside_a_workflow_which_the_default_sandbox_refuses(ts_env):
    assert await run_probe(ts_env, ConvertsToAZone, workflow_runner()) in ("CET", "CEST")
    refused = await run_probe(ts_env, ConvertsToAZone, SandboxedWorkflowRunner())
    assert refused == "failed: TypeError", refused


async def test_the_workflows_package_is_the_worker_s_own_not_a_copy(ts_env, monkeypatch):
    monkeypatch.setattr(calendar, "_sandbox_probe", "the worker's own", raising=False)
    assert await run_probe(ts_env, SeesTheWorkflowsModule, workflow_runner()) == "the worker's own"
    default = await run_probe(ts_env, SeesTheWorkflowsModule, SandboxedWorkflowRunner())
    assert default == "a fresh copy"


async def test_the_sandbox_compiles_its_code_strings_once(ts_env):
    """The SDK enters the sandbox by `exec` of a few code strings, per activation and per
    payload: each is compiled once, then its code object runs (the same code, less CPU)."""
    compiled.cache_clear()
    assert await run_probe(ts_env, ConvertsToAZone, workflow_runner()) in ("CET", "CEST")
    first = compiled.cache_info()
    assert first.currsize > 0
    assert await run_probe(ts_env, ConvertsToAZone, workflow_runner()) in ("CET", "CEST")
    again = compiled.cache_info()
    assert again.currsize == first.currsize  # nothing new to compile for a second run
    assert again.hits > first.hits


async def test_payload_contexts_read_directly_are_the_ones_the_sdk_makes(ts_env, monkeypatch):
    """The runner reads each payload's serialization and storage context from the instance
    in the sandbox directly: for every payload of a run with a local activity, what it
    answers equals what the SDK's own path (an `exec` in the sandbox) answers."""
    pairs: list[tuple[object, object]] = []
    direct_reads = []  # the instance in the sandbox was there to read: no fallback taken

    def checked(name):
        direct, stock = getattr(CompiledOnceInstance, name), getattr(_Instance, name)

        def both(self, command_info):
            direct_reads.append(IN_SANDBOX in self.globals_and_locals)
            got = direct(self, command_info)
            pairs.append((got, stock(self, command_info)))
            return got

        return both

    for name in ("get_serialization_context", "get_external_store_context"):
        monkeypatch.setattr(CompiledOnceInstance, name, checked(name))
    queue = f"sandbox-{uuid.uuid4().hex[:8]}"
    worker = Worker(
        ts_env.client,
        task_queue=queue,
        workflows=[RunsALocalActivity],
        activities=[echo],
        workflow_runner=workflow_runner(),
    )
    async with worker:
        got = await ts_env.client.execute_workflow(
            RunsALocalActivity.run, "hello", id=queue, task_queue=queue
        )
    assert got == "hello"
    assert len(pairs) >= 4 and all(direct_reads)
    kinds = {type(direct).__name__ for direct, _ in pairs}
    assert {"ActivitySerializationContext", "WorkflowSerializationContext"} <= kinds, kinds
    assert [direct for direct, _ in pairs] == [stock for _, stock in pairs]


def _modules():
    for info in pkgutil.iter_modules(workflows.__path__):
        yield importlib.import_module(f"workflows.{info.name}")


def test_no_workflow_module_holds_mutable_state():
    found = [
        f"{module.__name__}.{name}"
        for module in _modules()
        for name, value in vars(module).items()
        if not name.startswith("__") and isinstance(value, MUTABLE)
    ]
    # Shared by every case on a worker: a module-level list or dict would leak between them.
    assert found == []


# Passed through, `workflows` runs outside the sandbox's checks (the sandbox only restricts
# modules it imports itself), so what it would refuse at run time is refused here by reading
# the source. sandbox.py imports the worker's runner and is never called from a workflow.
FORBIDDEN_MODULES = frozenset(
    "os random secrets socket subprocess threading time uuid urllib httpx psycopg sqlalchemy"
    " smtplib requests".split()
)
FORBIDDEN_CALLS = frozenset({"datetime.now", "datetime.utcnow", "datetime.today", "date.today"})
FORBIDDEN_NAMES = frozenset({"open", "input"})
EXEMPT = {"workflows.sandbox"}


def nondeterminism(source: str) -> list[str]:
    """Imports of the clock, randomness or I/O, and calls reading the wall clock or files."""
    tree = ast.parse(source)
    imports = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
    # What each local name stands for, so `from datetime import datetime as d; d.now()` counts.
    real = {a.asname: a.name for n in imports for a in n.names if a.asname}
    found = [
        f"line {n.lineno}: import {name}"
        for n in imports
        for name in ([a.name for a in n.names] if isinstance(n, ast.Import) else [n.module or ""])
        if name.split(".")[0] in FORBIDDEN_MODULES
    ]
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name):
            name = real.get(func.id, func.id)
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            name = f"{real.get(func.value.id, func.value.id).split('.')[-1]}.{func.attr}"
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Attribute):
            name = f"{func.value.attr}.{func.attr}"  # datetime.datetime.now
        else:
            continue
        if name in FORBIDDEN_CALLS or name in FORBIDDEN_NAMES:
            found.append(f"line {node.lineno}: {name}()")
    return found


def test_no_workflow_module_reads_the_clock_randomness_or_io():
    found = {
        module.__name__: hits
        for module in _modules()
        if module.__name__ not in EXEMPT and (hits := nondeterminism(inspect.getsource(module)))
    }
    assert found == {}


@pytest.mark.parametrize(
    "line",
    [
        "from datetime import datetime\nstamp = datetime.now()",
        "import datetime\nstamp = datetime.datetime.utcnow()",
        "import random",
        "from uuid import uuid4",
        "import os.path",
        "body = open('x').read()",
        "from datetime import datetime as moment\nstamp = moment.now()",
        "from datetime import date as day\nstamp = day.today()",
    ],
)
def test_the_source_check_finds_what_the_sandbox_would_refuse(line):
    assert nondeterminism(line)


def test_the_source_check_lets_workflow_now_through():
    assert nondeterminism("from temporalio import workflow\nnow = workflow.now()") == []
