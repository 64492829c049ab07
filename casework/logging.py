"""How Casework processes log: one JSON object per line (for a log collector) or plain text,
each line naming the case and workflow it is about whenever there is one."""

import json
import logging
import sys
from datetime import UTC, datetime
from typing import IO

from temporalio import activity, workflow

TEXT = "%(asctime)s %(levelname)s %(name)s %(message)s"
CASE_WORKFLOW = "case-"  # a case's workflow id is `case-` and its number (api/services/intake)


def workflow_id_of(record: logging.LogRecord) -> str | None:
    """The workflow a record is about: the SDK's loggers put it in `extra` (workflow code
    cannot call out of its sandbox); any other logger called in an activity gets the running
    activity's."""
    for details in ("temporal_workflow", "temporal_activity"):
        given = getattr(record, details, None)
        if isinstance(given, dict) and given.get("workflow_id"):
            return given["workflow_id"]
    if activity.in_activity():
        return activity.info().workflow_id
    return None


class JsonFormatter(logging.Formatter):
    """time, level, logger, message; workflow_id and case_number when there are any; the
    exception's traceback as one string."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if workflow_id := workflow_id_of(record):
            line["workflow_id"] = workflow_id
            if workflow_id.startswith(CASE_WORKFLOW):
                line["case_number"] = workflow_id.removeprefix(CASE_WORKFLOW)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def configure(log_format: str = "json", level: str | int = "INFO", stream: IO | None = None):
    """The root logger writes to `stream` (stderr) in `log_format`; every other logger (the
    SDK's, uvicorn's when it is given no config of its own) passes its records up to it.
    Answers the handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # JSON has the workflow's details as fields: the SDK need not append them to the message.
    workflow.logger.workflow_info_on_message = log_format != "json"
    activity.logger.activity_info_on_message = log_format != "json"
    return handler
