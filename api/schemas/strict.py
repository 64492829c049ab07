"""No silent coercion of JSON input: `false` is not 0, `0` is not false, a number is not a
date. Pydantic's lax mode would accept those; strict mode would refuse the UUID and date
strings JSON carries. So: lax parsing, minus the coercions that hide client bugs."""

import types
import typing
from datetime import date, datetime
from typing import Annotated

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    FutureDatetime,
    model_validator,
)

TIME_TYPES = {datetime, date, AwareDatetime, FutureDatetime}


def base_types(annotation) -> set:
    """The plain types an annotation admits (through Annotated, Optional and unions)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return base_types(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return set().union(*(base_types(a) for a in typing.get_args(annotation)))
    if annotation is type(None):
        return set()
    return {origin or annotation}


def coercion_problem(value, kinds: set) -> str | None:
    if value is None:
        return None
    if kinds == {bool} and not isinstance(value, bool):
        return "must be true or false"
    if int in kinds and bool not in kinds and isinstance(value, bool):
        return "must be a number, not true or false"
    if kinds & {float} and bool not in kinds and isinstance(value, bool):
        return "must be a number, not true or false"
    if kinds & TIME_TYPES and isinstance(value, int | float):
        return "must be an RFC 3339 date-time string"
    return None


class StrictInput(BaseModel):
    """Base of every request body: unknown fields and silent coercions are 422."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_coercion(cls, data):
        if not isinstance(data, dict):
            return data
        problems = []
        for name, field in cls.model_fields.items():
            key = field.alias or name
            if key in data:
                why = coercion_problem(data[key], base_types(field.annotation))
                if why:
                    problems.append(f"{key} {why}")
        if problems:
            raise ValueError("; ".join(problems))
        return data


def _rfc3339(value):
    """A query parameter arrives as text; "0.5" would otherwise parse as a Unix time."""
    if isinstance(value, str) and not any(c in value for c in "-:T"):
        raise ValueError("must be an RFC 3339 date-time, e.g. 2026-11-26T09:00:00Z")
    if isinstance(value, int | float | bool):
        raise ValueError("must be an RFC 3339 date-time string")
    return value


Rfc3339 = Annotated[AwareDatetime, BeforeValidator(_rfc3339)]
