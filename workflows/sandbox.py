"""The workflow sandbox every worker and replayer uses.

Time zones are data, not I/O: the default sandbox wraps `zoneinfo.ZoneInfo` in a proxy that
`datetime.astimezone` refuses, so the business calendar could not run inside a workflow.
"""

import dataclasses

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions


def workflow_runner() -> SandboxedWorkflowRunner:
    default = SandboxRestrictions.default
    members = default.invalid_module_members.with_child_unrestricted("zoneinfo", "ZoneInfo")
    restrictions = dataclasses.replace(default, invalid_module_members=members)
    return SandboxedWorkflowRunner(restrictions=restrictions.with_passthrough_modules("zoneinfo"))
