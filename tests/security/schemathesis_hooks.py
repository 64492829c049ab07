"""Schemathesis hooks for tests/e2e/test_schemathesis.py (loaded through SCHEMATHESIS_HOOKS):
POST /inbound/email takes a raw message as `message/rfc822`, which schemathesis cannot put on
the wire by itself; the raw bytes go as they are, as for `application/octet-stream`."""

import schemathesis

schemathesis.serializer.alias("message/rfc822", "application/octet-stream")
