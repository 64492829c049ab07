"""inbound_mail: new messages POSTed to /inbound/email at concurrency 20, against the same
number of POST /cases with `email` (the baseline: the same intake without the mail), then
replies threaded onto those cases and auto-replies ignored.

Figures: throughput and latency of mail that opens a case (the answer comes after intake,
as POST /cases's does), of replies (one customer-reply update each) and of ignored
auto-replies (no workflow at all). Mail and baseline alternate in halves so drift on a
shared machine hits both alike.

    python -m bench.inbound_mail [--quick]
"""

from __future__ import annotations

import re
import time
import uuid

from bench.cases import drain
from bench.common import bounded, log, r, ratio, run_module, summary_ms, target
from tests.mail_fixtures import eml

CONCURRENCY = 20
FULL, QUICK = 400, 60
RFC822 = {"Content-Type": "message/rfc822"}


def message(kind: str, i: int, tag: str, **values: str) -> bytes:
    raw = eml(kind, **values)
    raw = re.sub(
        rb"(?im)^Message-I[dD]: .*$", f"Message-ID: <{kind}-{tag}-{i}@bench>".encode(), raw, count=1
    )
    return raw.replace(b"ada@acme.example", f"ada{i}-{tag}@bench.example".encode())


async def timed(n: int, job) -> tuple[float, list[float], int]:
    latency: list[float] = []
    errors = 0

    async def one(i: int) -> None:
        nonlocal errors
        began = time.perf_counter()
        if not await job(i):
            errors += 1
            return
        latency.append(time.perf_counter() - began)

    t0 = time.perf_counter()
    await bounded(n, CONCURRENCY, one)
    return time.perf_counter() - t0, latency, errors


async def run(stack, *, quick: bool = False) -> dict:
    n = QUICK if quick else FULL
    tag = uuid.uuid4().hex[:6]
    gateway = stack.http("integration")
    admin = stack.http()
    cases: dict[int, dict] = {}

    async def mail_open(i: int) -> bool:
        r_ = await gateway.post(
            "/api/v1/inbound/email", content=message("gmail_new", i, tag), headers=RFC822
        )
        if r_.status_code != 200 or r_.json()["action"] != "opened":
            return False
        cases[i] = r_.json()
        return True

    async def api_open(i: int) -> bool:
        body = {
            "subject": "The router keeps rebooting",
            "channel": "email",
            "email": f"base{i}-{tag}@bench.example",
            "description": "Since this morning the router in the lab reboots every ten minutes.",
        }
        return (await admin.post("/api/v1/cases", json=body)).status_code == 201

    half = n // 2
    log(f"inbound_mail: {n} new messages and {n} POST /cases, concurrency {CONCURRENCY}")
    m1 = await timed(half, mail_open)
    b1 = await timed(half, api_open)
    m2 = await timed(n - half, lambda i: mail_open(i + half))
    b2 = await timed(n - half, lambda i: api_open(i + half))
    await drain(stack)

    numbers = {
        i: await stack.scalar("SELECT number FROM cases WHERE id = %s", (c["case_id"],))
        for i, c in cases.items()
    }
    keys = sorted(cases)

    async def reply(j: int) -> bool:
        i = keys[j]
        raw = message(
            "outlook_original_message",
            i,
            tag,
            case_number=numbers[i],
            subject="The router keeps rebooting",
        )
        r_ = await gateway.post("/api/v1/inbound/email", content=raw, headers=RFC822)
        return r_.status_code == 200 and r_.json()["action"] == "appended"

    async def auto_reply(i: int) -> bool:
        raw = message("apple_vacation", i, tag)
        r_ = await gateway.post("/api/v1/inbound/email", content=raw, headers=RFC822)
        return r_.status_code == 200 and r_.json()["action"] == "ignored"

    log("inbound_mail: replies to those cases, then auto-replies")
    replies = await timed(len(keys), reply)
    ignored = await timed(n, auto_reply)
    await gateway.aclose()
    await admin.aclose()

    mail_s, base_s = m1[0] + m2[0], b1[0] + b2[0]
    mail_rate = (n - m1[2] - m2[2]) / mail_s
    base_rate = (n - b1[2] - b2[2]) / base_s
    mail_lat, base_lat = m1[1] + m2[1], b1[1] + b2[1]
    return {
        "n": n,
        "opened_per_s": r(mail_rate),
        "post_cases_per_s": r(base_rate),
        "opened_ms": summary_ms(mail_lat),
        "post_cases_ms": summary_ms(base_lat),
        "errors": m1[2] + m2[2] + b1[2] + b2[2] + replies[2] + ignored[2],
        "replies_per_s": r(len(replies[1]) / replies[0]),
        "replies_ms": summary_ms(replies[1]),
        "ignored_per_s": r(len(ignored[1]) / ignored[0]),
        "ignored_ms": summary_ms(ignored[1]),
        "targets": {
            "throughput": target(ratio(mail_rate, base_rate), ">=", 0.8, ">= 0.8 x POST /cases"),
        },
    }


def table(res: dict) -> list[tuple]:
    t = res["targets"]["throughput"]
    return [
        (
            "new mail opened / s",
            res["opened_per_s"],
            res["post_cases_per_s"],
            t["value"],
            t["target"],
            t["met"],
        ),
        (
            "new mail p50 / p99 ms",
            f"{res['opened_ms']['p50_ms']} / {res['opened_ms']['p99_ms']}",
            f"{res['post_cases_ms']['p50_ms']} / {res['post_cases_ms']['p99_ms']}",
            None,
            None,
            None,
        ),
        ("replies appended / s", res["replies_per_s"], None, None, None, None),
        (
            "replies p50 / p99 ms",
            f"{res['replies_ms']['p50_ms']} / {res['replies_ms']['p99_ms']}",
            None,
            None,
            None,
            None,
        ),
        ("auto-replies ignored / s", res["ignored_per_s"], None, None, None, None),
        (
            "auto-replies p50 / p99 ms",
            f"{res['ignored_ms']['p50_ms']} / {res['ignored_ms']['p99_ms']}",
            None,
            None,
            None,
            None,
        ),
        ("errors", res["errors"], None, None, None, None),
    ]


if __name__ == "__main__":
    run_module("inbound_mail", run, table)
