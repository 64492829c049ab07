"""How two customer records are found to be the same person: the normalized keys (SQL).

PostgreSQL computes them as generated columns of `contacts`, so every writer (the API,
intake, bulk loads, another branch's code) keeps them, and duplicate detection is an index
scan. The rules:

- email: trimmed and lower-cased. Nothing more: Gmail ignores dots and `+tags`, but most
  providers do not (a `+tag` can be a different mailbox, and dots always are elsewhere),
  and a company may route `support+eu@` apart from `support@`. Folding them would let one
  address speak for another person's cases, so they stay distinct identities.
- name: lower-cased, every run of characters that is not a letter or digit made one space,
  trimmed ("  O'Brien,  Ann " and "o brien ann" agree). Accents are kept: "José" and
  "Jose" may be different people, and PostgreSQL's unaccent is not immutable.
- phone: E.164-ish digits: an extension ("x12", "ext. 12") dropped, every non-digit
  dropped, an international "00" prefix read as "+" ("+44 20 7946 0958" and
  "0044 (20) 7946-0958" agree). A number written without its country code cannot be
  placed without guessing a region, so it only matches the same national form. Fewer than
  seven digits is no key at all (NULL).
"""

EMAIL_KEY = "lower(btrim(email))"
NAME_KEY = "btrim(regexp_replace(lower(name), '[^[:alnum:]]+', ' ', 'g'))"
_DIGITS = (
    "regexp_replace(regexp_replace(regexp_replace(phone,"
    " '\\s*(x|ext\\.?|extension)\\s*[0-9]+\\s*$', '', 'i'), '[^0-9]', '', 'g'), '^00', '')"
)
PHONE_KEY = f"CASE WHEN length({_DIGITS}) >= 7 THEN {_DIGITS} END"


def email_key(addr: str) -> str:
    """EMAIL_KEY in Python, for a lookup: an address as a header or a form may give it."""
    return addr.strip().strip("<>").strip().lower()
