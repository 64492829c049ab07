"""Inbound email: read a raw RFC 5322 message, tell loops and bounces, and keep its text."""
