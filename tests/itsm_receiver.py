"""A tiny ITSM service desk for tests: a real HTTP server (http.server in a thread) that
checks the HMAC signature, honours the Idempotency-Key, and answers with scripted statuses."""

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from workflows.signing import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verify


@dataclass
class Received:
    body: dict
    idempotency_key: str | None
    signature_ok: bool
    status: int


@dataclass
class Receiver:
    secret: str | None = None
    # Statuses to answer in order (then 200); a 5xx creates nothing, like a crashed desk.
    script: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    incidents: dict[str, dict] = field(default_factory=dict)  # idempotency key -> incident
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/incidents"

    def start(self) -> "Receiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                key = self.headers.get(IDEMPOTENCY_HEADER)
                ok = receiver.secret is None or verify(
                    receiver.secret, raw, self.headers.get(SIGNATURE_HEADER)
                )
                status = receiver.script.pop(0) if receiver.script else 200
                if not ok:
                    status = 401
                answer: dict = {"error": "scripted failure"}
                if status == 200:
                    if key not in receiver.incidents:
                        number = f"EXT-{len(receiver.incidents) + 1}"
                        receiver.incidents[key] = {"id": number, **json.loads(raw)}
                    answer = {"id": receiver.incidents[key]["id"]}
                receiver.received.append(Received(json.loads(raw), key, ok, status))
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
