"""JSON logs: one object per line, naming the workflow and case whenever there is one, from
workflow code (the SDK's logger) and from activities (any logger) run by a real worker."""

import io
import json
import logging
import uuid
from datetime import datetime, timedelta

import pytest
from temporalio import activity, workflow
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from casework.logging import configure


@activity.defn(name="test_log_inside")
async def log_inside() -> None:
    logging.getLogger("casework.test").warning("inside the activity")


@workflow.defn(name="TestLogging")
class LoggingWorkflow:
    @workflow.run
    async def run(self) -> None:
        workflow.logger.info("the workflow starts its step")
        await workflow.execute_activity(log_inside, start_to_close_timeout=timedelta(seconds=30))


@pytest.fixture
def json_lines():
    """The root logger writes JSON to a buffer for the test; the test runner's own handlers
    and the SDK loggers' settings come back after it."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    flags = workflow.logger.workflow_info_on_message, activity.logger.activity_info_on_message
    buffer = io.StringIO()
    configure("json", "INFO", stream=buffer)

    def lines() -> list[dict]:
        return [json.loads(line) for line in buffer.getvalue().splitlines()]

    yield lines
    root.handlers[:], level = saved
    root.setLevel(level)
    workflow.logger.workflow_info_on_message, activity.logger.activity_info_on_message = flags


async def test_lines_from_a_workflow_and_its_activity_name_the_workflow_and_case(
    ts_env, json_lines
):
    queue = f"tq-{uuid.uuid4().hex[:8]}"
    async with Worker(
        ts_env.client,
        task_queue=queue,
        workflows=[LoggingWorkflow],
        activities=[log_inside],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        await ts_env.client.execute_workflow(
            LoggingWorkflow.run, id="case-CS0004242", task_queue=queue
        )
    lines = json_lines()
    inside = [line for line in lines if line["message"] == "inside the activity"]
    assert len(inside) == 1, lines
    assert inside[0]["workflow_id"] == "case-CS0004242"
    assert inside[0]["case_number"] == "CS0004242"
    assert inside[0]["level"] == "WARNING" and inside[0]["logger"] == "casework.test"
    assert datetime.fromisoformat(inside[0]["time"]).utcoffset() == timedelta(0)
    # The SDK's workflow logger: its details as fields, not appended to the message.
    step = [line for line in lines if line["logger"] == "temporalio.workflow"]
    assert [line["message"] for line in step] == ["the workflow starts its step"], lines
    assert step[0]["workflow_id"] == "case-CS0004242" and step[0]["case_number"] == "CS0004242"


def test_lines_outside_any_workflow_have_no_ids_and_carry_the_traceback(json_lines):
    log = logging.getLogger("casework.api")
    log.info("plain %s", "line")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("it failed")
    plain, failed = json_lines()
    assert plain == {
        "time": plain["time"],
        "level": "INFO",
        "logger": "casework.api",
        "message": "plain line",
    }
    assert failed["level"] == "ERROR" and "ValueError: boom" in failed["exception"]
    assert "workflow_id" not in failed


def test_text_format_is_one_plain_line():
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    buffer = io.StringIO()
    try:
        configure("text", "INFO", stream=buffer)
        logging.getLogger("casework.worker").info("hello")
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    assert buffer.getvalue().rstrip().endswith("INFO casework.worker hello")
    assert workflow.logger.workflow_info_on_message  # the SDK's details stay in its messages
