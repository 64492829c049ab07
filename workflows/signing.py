"""HMAC-SHA256 signatures of webhook bodies, shared by the inbound API and the outbound
ITSM adapter (pure: no I/O)."""

import hashlib
import hmac

SIGNATURE_HEADER = "X-Casework-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"


def sign(secret: str, body: bytes) -> str:
    """The header value: `sha256=<hex HMAC-SHA256 of the raw body>`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    if not header or not header.startswith("sha256="):
        return False
    return hmac.compare_digest(sign(secret, body), header.strip())
