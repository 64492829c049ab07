"""Customer identity over the API: merge requests and answers, the data-debt report."""

import uuid

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.strict import StrictInput


class MergeRequest(StrictInput):
    """Merge the record named in the path into `into_id`, the survivor."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"into_id": "6f1c2b9e-8a51-4c6e-9a3e-2f0d4b7c1a90"}]}
    )

    into_id: uuid.UUID = Field(description="the record that survives the merge")


class MergeRead(BaseModel):
    """What a merge moved to the survivor, by kind (`cases`, `assets`, `entitlements`,
    `contracts`, `memberships`, and for accounts `account_team` and `child_accounts`; any
    other table that pointed at the merged record is counted under its own name)."""

    merge_id: uuid.UUID
    merged_id: uuid.UUID
    into_id: uuid.UUID
    moved: dict[str, int]
    cases_told: int = Field(description="running cases whose workflow now names the survivor")


class MergeAccepted(BaseModel):
    """A merge that took longer than the request may wait: accepted (202), and it completes
    on its own; the records read back show it once it has."""

    merge_id: uuid.UUID
    merged_id: uuid.UUID
    into_id: uuid.UUID
    status: str = Field("under_way", description="always `under_way`")


class DataDebtRead(BaseModel):
    """The two numbers a CSM team watches weekly."""

    contacts_without_account: int = Field(description="live contacts linked to no account")
    duplicate_contact_groups: list[list[uuid.UUID]] = Field(
        description="contacts that look like one person (same normalized email, or same "
        "normalized name and phone), oldest first in each group: the first is the natural "
        "survivor of a merge"
    )
