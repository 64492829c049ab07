"""The raw .eml fixtures (tests/fixtures/mail), with their `$name` placeholders filled."""

from pathlib import Path
from string import Template

MAIL = Path(__file__).parent / "fixtures" / "mail"


def eml(name: str, **values: str) -> bytes:
    """The fixture's bytes (CRLF, as on the wire) with `values` filled in."""
    raw = (MAIL / f"{name}.eml").read_bytes().decode("utf-8")
    return Template(raw).safe_substitute(values).encode("utf-8")
