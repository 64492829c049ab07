"""The one email rule (models.email_address): what it accepts, refuses and how it normalizes."""

import pytest
from pydantic import TypeAdapter, ValidationError

from api.schemas.email import Email
from models.email_address import normalize


@pytest.mark.parametrize(
    "addr",
    [
        "ada@acme.test",
        "homer@globex.example",
        "nobody@mail.invalid",
        "first.last+tag@sub.example.com",
        "o'neil@acme.co.uk",
    ],
)
def test_accepts_syntactically_valid_addresses_with_test_names(addr):
    assert normalize(addr) == addr


@pytest.mark.parametrize(
    "addr",
    [
        "",
        "ada",
        "@acme.test",
        "ada@",
        "ada@acme",
        "ada@test",
        "ada@.test",
        "a b@acme.test",
        "ada@acme..test",
        "ada@box.local",
        "ada@localhost",
        "ada@host.onion",
        "ada@1.168.192.in-addr.arpa",
        "x" * 310 + "@acme.test",
    ],
)
def test_refuses_what_is_not_an_address_or_cannot_receive_mail(addr):
    with pytest.raises(ValueError):
        normalize(addr)


def test_one_stored_form_lower_case_and_trimmed():
    assert normalize("  Ada.Lovelace@ACME.Test ") == "ada.lovelace@acme.test"


def test_the_api_type_applies_the_same_rule():
    email = TypeAdapter(Email)
    assert email.validate_python("Ada@Acme.TEST") == "ada@acme.test"
    with pytest.raises(ValidationError):
        email.validate_python("ada@box.local")
    assert email.json_schema()["format"] == "email"
