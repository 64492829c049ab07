"""The one rule for an email address, for every layer (API, intake, inbound mail): pure.

A syntactically valid address (RFC 5321/5322 as email_validator reads it) with a dotted
domain, never looked up in DNS. The names RFC 2606 reserves for tests and documentation
(`.test`, `.example`, `.invalid`) are accepted, since development and test setups use them;
the other special-use names (`.local`, `.localhost`, `.onion`, `.arpa`) cannot receive mail
and are refused. The whole address is lower-cased: Casework treats an address as a
case-insensitive identity (intake finds a contact by it).
"""

from email_validator import EmailNotValidError, validate_email

MAX_LENGTH = 320
TEST_TLDS = ("test", "example", "invalid")


def normalize(addr: str) -> str:
    """The address in its one stored form; ValueError (with the reason) when it is not valid."""
    if not isinstance(addr, str):
        raise ValueError("an email address is a string")
    addr = addr.strip()
    if len(addr) > MAX_LENGTH:
        raise ValueError(f"an email address has at most {MAX_LENGTH} characters")
    local, _, domain = addr.rpartition("@")
    domain = domain.lower()
    if "." not in domain:
        raise ValueError("the part after the @-sign needs a period")
    # email_validator refuses every special-use name but .test (in its test environment);
    # a reserved test name is checked as the same labels under .test, which has the same syntax.
    head, _, tld = domain.rpartition(".")
    probe = f"{head}.test" if head and tld in TEST_TLDS else domain
    try:
        validate_email(f"{local}@{probe}", check_deliverability=False, test_environment=True)
    except EmailNotValidError as err:
        raise ValueError(str(err)) from None
    return f"{local}@{domain}".lower()
