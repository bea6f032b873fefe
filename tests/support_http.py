"""A real HTTP receiver on loopback for webhook tests."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

SECRET_BODY = "INTERNAL-ONLY-7f3a"  # the receiver's answer: never to be shown back to anyone


class Receiver:
    """A real HTTP server on loopback answering with `script` in turn (the last one repeats)."""

    def __init__(self, script):
        self.script = list(script)
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append({"headers": dict(self.headers), "body": body, "path": self.path})
                status, headers = receiver.script[min(len(receiver.requests), len(receiver.script)) - 1]
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                data = SECRET_BODY.encode()
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook?x=1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    """`receiver((status, headers), ...)` starts a Receiver answering in turn; all are closed after."""
    made = []

    def start(*script):
        made.append(Receiver(script or ((200, {}),)))
        return made[-1]

    yield start
    for r in made:
        r.close()
