"""A real static-file hub for tests: an HTTP server on 127.0.0.1, in a thread, serving a folder.

It answers ``Range`` requests as a web server or a bucket does, records every request, and can
cut a transfer half-way to exercise resuming.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urlsplit


@dataclass
class Request:
    path: str
    range: str | None
    sent: int = 0  # body bytes sent
    authorization: str | None = None


class HubServer:
    """Serve ``folder`` at ``self.url``; ``requests`` lists what was asked, ``cut`` holds paths
    whose next transfer stops after half of its bytes, ``token`` (when set) is the bearer token
    every request needs (401 without it, 403 with another), ``redirects`` sends a path elsewhere."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder.resolve()
        self.requests: list[Request] = []
        self.cut: set[str] = set()
        self.token: str | None = None
        self.redirects: dict[str, str] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> HubServer:
        self._thread.start()
        return self

    def __exit__(self, kind: type | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                authorization = self.headers.get("Authorization")
                request = Request(self.path, self.headers.get("Range"), authorization=authorization)
                hub.requests.append(request)
                if hub.token is not None and request.authorization != f"Bearer {hub.token}":
                    self.send_error(401 if request.authorization is None else 403)
                    return
                if self.path in hub.redirects:
                    self.send_response(302)
                    self.send_header("Location", hub.redirects[self.path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                path = (hub.folder / unquote(urlsplit(self.path).path).lstrip("/")).resolve()
                if not path.is_file() or hub.folder not in path.parents:
                    self.send_error(404)
                    return
                data = path.read_bytes()
                start = int(request.range.removeprefix("bytes=").rstrip("-")) if request.range else 0
                if start >= len(data) and data:
                    self.send_error(416)
                    return
                body = data[start:]
                self.send_response(206 if request.range else 200)
                if request.range:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.path in hub.cut:
                    hub.cut.discard(self.path)
                    body = body[: len(body) // 2]
                    self.close_connection = True
                self.wfile.write(body)
                request.sent = len(body)

            def log_message(self, format: str, *args: object) -> None:  # keep test output clean
                pass

        return Handler
