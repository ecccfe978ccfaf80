"""A tiny stand-in for the Hugging Face hub on 127.0.0.1, enough for ``hf_hub_download``.

It serves ``HEAD``/``GET /{repo}/resolve/{revision}/{filename}`` with the headers huggingface_hub
reads (``X-Repo-Commit``; ``ETag`` = the file's SHA-256, as the hub sends for LFS files;
``Content-Length``), honours ``Range: bytes=N-`` with ``206`` + ``Content-Range``, and can drop
the connection part-way through a file once, to test resuming. It records every request.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

COMMIT = "0123456789abcdef0123456789abcdef01234567"
_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<revision>[^/]+)/(?P<filename>.+)$")


@dataclass
class Seen:
    method: str
    path: str
    range: str | None


@dataclass
class HubState:
    files: dict[tuple[str, str], bytes] = field(default_factory=dict)  # (repo, filename) -> content
    etags: dict[tuple[str, str], str] = field(default_factory=dict)  # override the announced SHA-256
    drop_after: dict[tuple[str, str], int] = field(default_factory=dict)  # cut the first GET after N bytes
    requests: list[Seen] = field(default_factory=list)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hangs up mid-file (a cancel) is part of the tests, not an error


class FakeHub:
    def __init__(self) -> None:
        self.state = HubState()
        state = self.state

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # keep test output clean
                pass

            def do_HEAD(self) -> None:
                self._serve(body=False)

            def do_GET(self) -> None:
                self._serve(body=True)

            def _serve(self, body: bool) -> None:
                state.requests.append(Seen(self.command, self.path, self.headers.get("Range")))
                match = _RESOLVE.match(self.path)
                key = (match["repo"], match["filename"]) if match else ("", "")
                content = state.files.get(key)
                if content is None:
                    self.send_response(404)
                    self.send_header("X-Error-Code", "EntryNotFound" if match else "RepoNotFound")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                start = 0
                wanted = self.headers.get("Range")
                if body and wanted:
                    start = int(re.match(r"bytes=(\d+)-", wanted).group(1))  # type: ignore[union-attr]
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(content) - 1}/{len(content)}")
                else:
                    self.send_response(200)
                etag = state.etags.get(key) or hashlib.sha256(content).hexdigest()
                self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("ETag", f'"{etag}"')
                self.send_header("Content-Length", str(len(content) - start))
                self.end_headers()
                if not body:
                    return
                cut = state.drop_after.pop(key, None)
                if cut is not None:
                    self.wfile.write(content[start:cut])
                    self.wfile.flush()
                    self.close_connection = True  # the client sees the body end early
                    return
                self.wfile.write(content[start:])

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def add(self, repo: str, filename: str, content: bytes) -> None:
        self.state.files[(repo, filename)] = content

    def __enter__(self) -> FakeHub:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
