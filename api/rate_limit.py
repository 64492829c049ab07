"""Rate limits on the public and customer-facing endpoints: sign-in (per client, and links per
address), customers opening cases (API and portal), inbound mail; over the limit a request
gets 429 with Retry-After."""

import math
import time
from collections.abc import Callable

from fastapi import Request

from api.auth import Principal
from api.deps import CurrentPrincipal, PagePrincipal
from api.errors import Problem
from casework.settings import Rate, Settings

# Past this many keys a limiter forgets those whose window has passed (they are back at their
# full allowance, so forgetting them changes nothing).
PRUNE_AT = 50_000


class Limiter:
    """At most `rate.count` hits per key in any `rate.seconds`, with a burst of up to the whole
    count: a token bucket kept as one number per key, the time at which its bucket would be
    full again (GCRA). The counts live in this process's memory, so with several API processes
    each limits on its own: a client spread over N processes gets up to N times the rate."""

    def __init__(self, rate: Rate, clock: Callable[[], float] = time.monotonic) -> None:
        self.enabled = rate.count > 0
        self.interval = rate.seconds / rate.count if self.enabled else 0.0
        self.slack = rate.seconds - self.interval  # how far ahead of now a key may run
        self.clock = clock
        self.full_at: dict[str, float] = {}
        self.prune_at = PRUNE_AT

    def hit(self, key: str) -> float:
        """Counts a hit on `key` and answers 0, or, when the key is over its limit, answers the
        seconds until its next hit is allowed (without counting this one)."""
        if not self.enabled:
            return 0.0
        now = self.clock()
        full_at = max(self.full_at.get(key, now), now)
        wait = full_at - now - self.slack
        if wait > 0:
            return wait
        self.full_at[key] = full_at + self.interval
        if len(self.full_at) > self.prune_at:
            self.prune(now)
        return 0.0

    def prune(self, now: float) -> None:
        self.full_at = {k: t for k, t in self.full_at.items() if t > now}
        # Under a flood of distinct keys, prune again only once the map has doubled: the
        # cost stays constant per hit.
        self.prune_at = max(PRUNE_AT, 2 * len(self.full_at))


class RateLimits:
    """The limiters of one API process (app.state.rate_limits), from the settings."""

    def __init__(self, settings: Settings) -> None:
        self.login = Limiter(settings.rate_limit_login)
        self.open_case_client = Limiter(settings.rate_limit_open_case_client)
        self.open_case = Limiter(settings.rate_limit_open_case)
        self.sign_in_address = Limiter(settings.rate_limit_sign_in_address)
        self.inbound_mail = Limiter(settings.rate_limit_inbound_mail)


def client_address(request: Request) -> str:
    # Behind a proxy this is the proxy's address unless uvicorn trusts its X-Forwarded-For
    # (FORWARDED_ALLOW_IPS): set that, or every client shares the proxy's allowance.
    return request.client.host if request.client else "unknown"


def check(limiter: Limiter, key: str, detail: str) -> None:
    wait = limiter.hit(key)
    if wait > 0:
        seconds = math.ceil(wait)
        raise Problem(
            429, f"{detail}; try again in {seconds} s", headers={"Retry-After": str(seconds)}
        )


async def limit_login(request: Request) -> None:
    """Sign-in attempts per client address (guessing tokens costs time)."""
    check(request.app.state.rate_limits.login, client_address(request), "Too many sign-in attempts")


def limit_sign_in_address(request: Request, address: str) -> None:
    """Sign-in links asked for one address (whoever asks): a mailbox is not flooded."""
    limiter = request.app.state.rate_limits.sign_in_address
    check(limiter, address, "Too many sign-in links asked for this address")


def limit_customer_opening(request: Request, who: Principal) -> None:
    """Cases opened by a customer, per client address and per customer; staff and
    integrations open cases for others (and in bulk) and are not limited."""
    if not who.is_customer:
        return
    limits: RateLimits = request.app.state.rate_limits
    detail = "Too many cases opened in a short time"
    check(limits.open_case, f"{who.role}:{who.subject_id or who.token_id}", detail)
    check(limits.open_case_client, client_address(request), detail)


async def limit_api_opening(request: Request, who: CurrentPrincipal) -> None:
    limit_customer_opening(request, who)


async def limit_portal_opening(request: Request, who: PagePrincipal) -> None:
    limit_customer_opening(request, who)


def limit_inbound_mail(request: Request, who: Principal) -> None:
    """Inbound messages per integration token (a mail flood, a gateway gone round in a loop);
    `casework mail-intake` limits per SMTP client with its own limiter of the same rate."""
    limiter: Limiter = request.app.state.rate_limits.inbound_mail
    check(limiter, f"mail:{who.token_id or who.subject_id}", "Too many inbound messages")
