"""The OpenAPI document describes everything it lists: every operation has a summary and a
description, every schema and every tag a description, and the main request bodies have
examples that the API itself accepts. Routes added later must describe themselves too."""

import pytest
from pydantic import TypeAdapter, ValidationError

from api.app import create_app
from api.schemas.cases import ActionBody, CaseCreate
from api.schemas.catalog import AccountCreate, ContactCreate
from api.schemas.field_service import FieldServiceBody, ItsmBody
from api.schemas.tokens import TokenCreate
from casework.settings import Settings

METHODS = {"get", "put", "post", "patch", "delete", "head", "options"}
V1 = "/api/v1"
# The main request bodies: each has examples, and each example is a valid body.
EXAMPLES = {
    ("post", f"{V1}/cases"): CaseCreate,
    ("post", f"{V1}/cases/{{case_id}}/actions/{{action}}"): ActionBody,
    ("post", f"{V1}/cases/{{case_id}}/actions/request-field-service"): FieldServiceBody,
    ("post", f"{V1}/cases/{{case_id}}/actions/escalate-itsm"): ItsmBody,
    ("post", f"{V1}/tokens"): TokenCreate,
    ("post", f"{V1}/accounts"): AccountCreate,
    ("post", f"{V1}/contacts"): ContactCreate,
}


@pytest.fixture(scope="module")
def document() -> dict:
    # No database or Temporal is reached: the document is built from the routes alone.
    return create_app(Settings(DATABASE_URL="postgresql+psycopg://docs@127.0.0.1/docs")).openapi()


def operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method, path, operation


def blank(text: object) -> bool:
    return not isinstance(text, str) or not text.strip()


def test_every_operation_has_a_summary_and_a_description(document):
    ops = list(operations(document))
    assert len(ops) > 50  # the whole API, not an empty document
    missing = [
        f"{method.upper()} {path}: {what}"
        for method, path, operation in ops
        for what in ("summary", "description")
        if blank(operation.get(what))
    ]
    assert not missing, "describe these operations (a docstring, summary=):\n" + "\n".join(missing)


def test_every_schema_has_a_description(document):
    schemas = document["components"]["schemas"]
    missing = sorted(name for name, schema in schemas.items() if blank(schema.get("description")))
    assert not missing, "give these schemas a docstring: " + ", ".join(missing)


def test_every_tag_is_declared_with_a_description(document):
    declared = {tag["name"]: tag.get("description") for tag in document.get("tags", [])}
    used = {tag for _, _, operation in operations(document) for tag in operation.get("tags", [])}
    undeclared = sorted(used - set(declared))
    assert not undeclared, "add these tags to api/openapi.py's TAGS: " + ", ".join(undeclared)
    undescribed = sorted(name for name, text in declared.items() if blank(text))
    assert not undescribed, undescribed
    untagged = [f"{m.upper()} {p}" for m, p, o in operations(document) if not o.get("tags")]
    assert not untagged, untagged


@pytest.mark.parametrize(("method", "path"), list(EXAMPLES), ids=lambda v: str(v))
def test_main_request_bodies_have_examples_the_api_accepts(document, method, path):
    body = document["paths"][path][method]["requestBody"]["content"]["application/json"]
    ref = next(s["$ref"] for s in [body["schema"], *body["schema"].get("anyOf", [])] if "$ref" in s)
    schema = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    examples = schema.get("examples") or []
    assert examples, f"{method.upper()} {path}: {ref} has no examples"
    adapter = TypeAdapter(EXAMPLES[(method, path)])
    for example in examples:
        try:
            adapter.validate_python(example)
        except ValidationError as err:
            raise AssertionError(f"{ref}'s example {example} is not a valid body: {err}") from err
