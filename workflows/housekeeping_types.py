"""What the housekeeping run passes across Temporal: how old is old enough, and what went."""

from dataclasses import dataclass


@dataclass
class PurgeInput:
    """Sign-in rows that ended (expired, revoked or used) more than `after_days` ago go, at
    most `batch` of each kind per activity call."""

    after_days: int
    batch: int = 1000


@dataclass
class PurgeResult:
    sessions: int = 0
    links: int = 0
    more: bool = False  # a kind filled its batch: run again
