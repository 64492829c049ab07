"""The actions on a case, one Temporal update each, named as in the action table.

Each update has its own input and validator, so a case's history in the Temporal UI says
"respond" or "resolve", and an action the case's state forbids is refused before it is
written to history. CaseWorkflow (workflows/case.py) inherits them and does the work in
`_act`.
"""

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows import lifecycle
from workflows.actions import (
    AcceptInput,
    Action,
    ActionInput,
    ActionResult,
    AssignInput,
    AssignPartnerInput,
    AwaitInfoInput,
    CancelInput,
    ChangePriorityInput,
    CustomerReplyInput,
    EscalateItsmInput,
    NoteInput,
    RejectInput,
    RequestFieldServiceInput,
    ResolveInput,
    RespondInput,
)
from workflows.case_data import CaseData


class CaseActions:
    s: CaseData

    async def _act(self, action: Action, arg: ActionInput) -> ActionResult:
        raise NotImplementedError  # CaseWorkflow does the work

    def _refuse(self, action: Action, arg: ActionInput) -> None:
        if why := lifecycle.refusal(self.s, action, arg):
            raise ApplicationError(why.message, type=why.type, non_retryable=True)

    @workflow.update(name=Action.ASSIGN)
    async def assign(self, arg: AssignInput) -> ActionResult:
        return await self._act(Action.ASSIGN, arg)

    @workflow.update(name=Action.RESPOND)
    async def respond(self, arg: RespondInput) -> ActionResult:
        return await self._act(Action.RESPOND, arg)

    @workflow.update(name=Action.NOTE)
    async def note(self, arg: NoteInput) -> ActionResult:
        return await self._act(Action.NOTE, arg)

    @workflow.update(name=Action.AWAIT_INFO)
    async def await_info(self, arg: AwaitInfoInput) -> ActionResult:
        return await self._act(Action.AWAIT_INFO, arg)

    @workflow.update(name=Action.CUSTOMER_REPLY)
    async def customer_reply(self, arg: CustomerReplyInput) -> ActionResult:
        return await self._act(Action.CUSTOMER_REPLY, arg)

    @workflow.update(name=Action.CHANGE_PRIORITY)
    async def change_priority(self, arg: ChangePriorityInput) -> ActionResult:
        return await self._act(Action.CHANGE_PRIORITY, arg)

    @workflow.update(name=Action.RESOLVE)
    async def resolve(self, arg: ResolveInput) -> ActionResult:
        return await self._act(Action.RESOLVE, arg)

    @workflow.update(name=Action.ACCEPT)
    async def accept(self, arg: AcceptInput) -> ActionResult:
        return await self._act(Action.ACCEPT, arg)

    @workflow.update(name=Action.REJECT)
    async def reject(self, arg: RejectInput) -> ActionResult:
        return await self._act(Action.REJECT, arg)

    @workflow.update(name=Action.CANCEL)
    async def cancel(self, arg: CancelInput) -> ActionResult:
        return await self._act(Action.CANCEL, arg)

    @workflow.update(name=Action.REQUEST_FIELD_SERVICE)
    async def request_field_service(self, arg: RequestFieldServiceInput) -> ActionResult:
        return await self._act(Action.REQUEST_FIELD_SERVICE, arg)

    @workflow.update(name=Action.ESCALATE_ITSM)
    async def escalate_itsm(self, arg: EscalateItsmInput) -> ActionResult:
        return await self._act(Action.ESCALATE_ITSM, arg)

    @workflow.update(name=Action.ASSIGN_PARTNER)
    async def assign_partner(self, arg: AssignPartnerInput) -> ActionResult:
        return await self._act(Action.ASSIGN_PARTNER, arg)

    @assign.validator
    def _assign_ok(self, arg: AssignInput) -> None:
        self._refuse(Action.ASSIGN, arg)

    @respond.validator
    def _respond_ok(self, arg: RespondInput) -> None:
        self._refuse(Action.RESPOND, arg)

    @note.validator
    def _note_ok(self, arg: NoteInput) -> None:
        self._refuse(Action.NOTE, arg)

    @await_info.validator
    def _await_info_ok(self, arg: AwaitInfoInput) -> None:
        self._refuse(Action.AWAIT_INFO, arg)

    @customer_reply.validator
    def _customer_reply_ok(self, arg: CustomerReplyInput) -> None:
        self._refuse(Action.CUSTOMER_REPLY, arg)

    @change_priority.validator
    def _change_priority_ok(self, arg: ChangePriorityInput) -> None:
        self._refuse(Action.CHANGE_PRIORITY, arg)

    @resolve.validator
    def _resolve_ok(self, arg: ResolveInput) -> None:
        self._refuse(Action.RESOLVE, arg)

    @accept.validator
    def _accept_ok(self, arg: AcceptInput) -> None:
        self._refuse(Action.ACCEPT, arg)

    @reject.validator
    def _reject_ok(self, arg: RejectInput) -> None:
        self._refuse(Action.REJECT, arg)

    @cancel.validator
    def _cancel_ok(self, arg: CancelInput) -> None:
        self._refuse(Action.CANCEL, arg)

    @request_field_service.validator
    def _request_field_service_ok(self, arg: RequestFieldServiceInput) -> None:
        self._refuse(Action.REQUEST_FIELD_SERVICE, arg)

    @escalate_itsm.validator
    def _escalate_itsm_ok(self, arg: EscalateItsmInput) -> None:
        self._refuse(Action.ESCALATE_ITSM, arg)

    @assign_partner.validator
    def _assign_partner_ok(self, arg: AssignPartnerInput) -> None:
        self._refuse(Action.ASSIGN_PARTNER, arg)
