"""Webhook signatures: the body's HMAC, and with a timestamp a replay window."""

from workflows.signing import MAX_AGE_SECONDS, sign, signed_payload, verify_fresh

SECRET = "s3cret"
BODY = b'{"status": "resolved"}'


def test_plain_body_signature_is_accepted_and_a_changed_body_is_not():
    header = sign(SECRET, BODY)
    assert verify_fresh(SECRET, BODY, header, None, now=1_000) is None
    assert verify_fresh(SECRET, BODY + b" ", header, None, now=1_000) is not None
    assert verify_fresh(SECRET, BODY, None, None, now=1_000) is not None
    assert verify_fresh("other", BODY, header, None, now=1_000) is not None


def test_timestamped_signature_has_a_replay_window():
    t = "1000000"
    header = sign(SECRET, signed_payload(BODY, t))
    assert verify_fresh(SECRET, BODY, header, t, now=1_000_000 + MAX_AGE_SECONDS) is None
    assert "not within" in verify_fresh(
        SECRET, BODY, header, t, now=1_000_000 + MAX_AGE_SECONDS + 1
    )
    # Replaying the body with a fresh timestamp needs a new signature the attacker lacks.
    assert verify_fresh(SECRET, BODY, header, "1000100", now=1_000_100) is not None
    assert verify_fresh(SECRET, BODY, header, "soon", now=1_000_000) is not None
