"""Rows the activity tests start from: a case as intake left it, its incidents."""

import uuid
from datetime import UTC, datetime

from models.cases import Case
from models.itsm import Incident
from tests import factories as f
from workflows.vocabulary import CaseState, IncidentState


async def case(sessions, number: int = 1, **values) -> Case:
    """An open case with no one assigned, no account and no contact unless given."""
    fields = {
        "id": uuid.uuid4(),
        "number": f"CS{number:07d}",
        "workflow_id": f"case-test-{uuid.uuid4().hex[:8]}",
        "channel": "email",
        "subject": "Printer on fire",
        "state": CaseState.OPEN,
        "queue": "support",
        "requester_email": "ada@acme.example",
        "requester_name": "Ada",
    }
    return await f.add(sessions, Case(**(fields | values)))


async def incident(sessions, case_id, state: IncidentState, number: int) -> Incident:
    now = datetime.now(UTC)
    return await f.add(
        sessions,
        Incident(
            id=uuid.uuid4(),
            number=f"INC{number:07d}",
            request_key=f"test:{uuid.uuid4().hex}",
            case_id=case_id,
            adapter="builtin",
            state=state,
            summary="VPN down",
            created_at=now,
            updated_at=now,
        ),
    )
