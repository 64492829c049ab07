"""A discarding SMTP server for the benchmarks: `python -m bench.smtp_sink PORT`.

It answers like a real server (EHLO, MAIL, RCPT, DATA → 250) and keeps nothing, so tens of
thousands of notifications cost it no memory. It runs as its own process so that receiving
mail takes no CPU from the load generator's event loop. Top level has no side effects.
"""

from __future__ import annotations

import signal
import sys
import threading


class Discard:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd)
        self.count += 1
        return "250 OK"


def main() -> None:
    from aiosmtpd.controller import Controller

    port = int(sys.argv[1])
    controller = Controller(
        Discard(),
        hostname="127.0.0.1",
        port=port,
        server_hostname="bench-smtp-sink",  # no getfqdn() lookups
        ready_timeout=10.0,
    )
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
