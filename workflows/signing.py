"""HMAC-SHA256 signatures of webhook bodies, shared by the inbound API and the outbound
ITSM adapter (pure: no I/O)."""

import hashlib
import hmac

SIGNATURE_HEADER = "X-Casework-Signature"
TIMESTAMP_HEADER = "X-Casework-Timestamp"
MAX_AGE_SECONDS = 300
IDEMPOTENCY_HEADER = "Idempotency-Key"


def sign(secret: str, body: bytes) -> str:
    """The header value: `sha256=<hex HMAC-SHA256 of the raw body>`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    if not header or not header.startswith("sha256="):
        return False
    return hmac.compare_digest(sign(secret, body), header.strip())


def signed_payload(body: bytes, timestamp: str | None) -> bytes:
    """With a timestamp the signature covers `<timestamp>.<body>`, so it cannot be replayed
    later with a fresh timestamp; without one it covers the body (the original contract)."""
    return body if timestamp is None else timestamp.encode() + b"." + body


def verify_fresh(
    secret: str, body: bytes, header: str | None, timestamp: str | None, now: float
) -> str | None:
    """Why the request is refused, or None. A timestamp outside the window is a replay."""
    if timestamp is not None:
        if not timestamp.isdigit() or abs(now - int(timestamp)) > MAX_AGE_SECONDS:
            return f"{TIMESTAMP_HEADER} is not within {MAX_AGE_SECONDS} s of now"
    if not verify(secret, signed_payload(body, timestamp), header):
        return f"{SIGNATURE_HEADER} is missing or does not match the body"
    return None
