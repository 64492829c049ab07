"""`Email`: the one annotated type every API schema takes an email address as."""

from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from models.email_address import MAX_LENGTH, normalize

Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=MAX_LENGTH),
    AfterValidator(normalize),
    Field(json_schema_extra={"format": "email"}),
]
