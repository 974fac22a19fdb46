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


class HubServer:
    """Serve ``folder`` at ``self.url``; ``requests`` lists what was asked, ``cut`` holds paths
    whose next transfer stops after half of its bytes."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder.resolve()
        self.requests: list[Request] = []
        self.cut: set[str] = set()
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
                request = Request(self.path, self.headers.get("Range"))
                hub.requests.append(request)
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
