"""POST /<collection>/{id}/merge for a customer record, on a given router (admin only)."""

import uuid

from fastapi import APIRouter, Response

from api.deps import Admin, ClientDep, SessionDep, SettingsDep
from api.schemas.identity import MergeAccepted, MergeRead, MergeRequest
from api.services import identity
from workflows.vocabulary import MergeKind


def merge_route(router: APIRouter, path: str, kind: MergeKind, description: str) -> None:
    """The merge of one record of `kind` into another, documented by `description`."""

    @router.post(
        f"/{path}/{{item_id}}/merge",
        response_model=MergeRead | MergeAccepted,
        responses={202: {"model": MergeAccepted, "description": "accepted; completes on its own"}},
        summary=f"Merge this {kind} into another (the survivor)",
        description=description,
        name=f"merge_{kind}",
    )
    async def merge(
        item_id: uuid.UUID,
        body: MergeRequest,
        db: SessionDep,
        client: ClientDep,
        settings: SettingsDep,
        admin: Admin,
        response: Response,
    ) -> MergeRead | MergeAccepted:
        answer = await identity.merge(
            db=db,
            client=client,
            task_queue=settings.task_queue,
            kind=kind,
            from_id=item_id,
            into_id=body.into_id,
            actor_id=admin.subject_id,
        )
        if isinstance(answer, MergeAccepted):
            response.status_code = 202
        return answer
