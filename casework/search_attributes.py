"""Register the case workflows' search attributes on a Temporal namespace (idempotent).

`casework dev` registers them when it starts the dev server; on a cluster or Temporal Cloud
run `casework search-attributes` once per namespace (Temporal Cloud: or `tcld namespace
search-attributes add`), before the first worker starts.
"""

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from workflows.search import KEYS


async def register(client: Client, namespace: str) -> list[str]:
    """Add the attributes the namespace lacks; returns their names."""
    try:
        have = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
        known = set(have.custom_attributes) | set(have.system_attributes)
    except RPCError as err:  # the time-skipping test server only adds them
        if err.status != RPCStatusCode.UNIMPLEMENTED:
            raise
        known = set()
    missing = {
        key.name: IndexedValueType.Value(f"INDEXED_VALUE_TYPE_{key.indexed_value_type.name}")
        for key in KEYS
        if key.name not in known
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
        )
    return sorted(missing)
