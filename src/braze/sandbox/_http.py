"""Socket-level plumbing: read a request safely, hand it to the app, carry out the outcome.

The handler never trusts the client: body framing is checked by hand (Content-Length, chunked),
oversized bodies are drained rather than left in the socket (so the client reliably sees the
413 instead of a broken pipe), and every write tolerates a client that has already gone away.
"""

from __future__ import annotations

import json
import re
import selectors
import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from . import _messages as msg
from ._admin import ADMIN_PREFIX, handle_admin
from ._app import IncomingRequest, Outcome, Reply, SandboxApp

MAX_BODY_BYTES = 4 * 1024 * 1024  # S9: "Most endpoints accept request bodies up to 4 MB"
# Up to this size an oversized body is read and discarded so the 413 arrives on a healthy
# connection; beyond it we answer and hang up rather than read forever.
_DRAIN_LIMIT = 32 * 1024 * 1024
_MAX_CHUNK_LINE = 4096
_MAX_TRAILERS = 100
_DIGITS = re.compile(r"[0-9]+")
_HEX = re.compile(rb"[0-9a-fA-F]{1,8}")


class _BodyError(Exception):
    def __init__(self, status: int, message: str, close: bool) -> None:
        super().__init__(message)
        self.status, self.message, self.close = status, message, close


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # stop() closes every connection itself; never block shutdown on a stuck handler thread.
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: SandboxApp, verbose: bool) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.app = app
        self.verbose = verbose
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._wake_reader, self._wake_writer = socket.socketpair()
        super().__init__(address, SandboxRequestHandler)

    def serve_until_stopped(self) -> None:
        # serve_forever() only notices shutdown() at its next poll timeout, which made every
        # stop() cost up to poll_interval; here stop() wakes the loop at once via a socketpair.
        with selectors.DefaultSelector() as selector:
            selector.register(self.socket, selectors.EVENT_READ, "accept")
            selector.register(self._wake_reader, selectors.EVENT_READ, "wake")
            while not self.stopping.is_set():
                for key, _events in selector.select():
                    if key.data == "accept" and not self.stopping.is_set():
                        self._handle_request_noblock()

    def stop_serving(self) -> None:
        """Make serve_until_stopped() return and cut short pending slow responses."""
        self.stopping.set()
        try:
            self._wake_writer.send(b"x")
        except OSError:
            pass

    def server_close(self) -> None:
        super().server_close()
        self._wake_reader.close()
        self._wake_writer.close()

    def track(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(connection)

    def close_connections(self) -> None:
        # Keep-alive connections would otherwise keep being served after stop().
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients vanishing mid-request is normal here (that is what the faults provoke).
        if self.verbose:
            super().handle_error(request, client_address)


class SandboxRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so every response carries Content-Length
    disable_nagle_algorithm = True  # small JSON responses must not wait for delayed ACKs
    server_version = "braze-sandbox"
    timeout = 30  # a stalled client must not pin a thread forever
    server: SandboxHTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.untrack(self.connection)

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        if self.server.verbose:
            super().log_message(format, *args)

    def __getattr__(self, name: str) -> Any:
        # Every method, standard or not, goes through the router, so an unknown method gets the
        # same 404 "Invalid URL" as an unknown path instead of http.server's HTML 501.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # Only http.server calls this, for input it cannot parse (bad request line, oversized or
        # too many headers). Answer in the sandbox's JSON shape and hang up.
        text = message or self.responses.get(code, ("Error",))[0]
        self.server.app.record_protocol_error(code, text)
        self.close_connection = True
        # When the request line is unparseable http.server still assumes HTTP/0.9, whose replies
        # have no status line at all; nobody speaks 0.9, so always answer with a real status.
        self.request_version = self.protocol_version
        self._send(Reply(code, {"message": text}))

    # --- request ---------------------------------------------------------------------------------

    def _dispatch(self) -> None:
        path = urlsplit(self.path).path
        try:
            body, body_error = self._read_body(), None
        except _BodyError as exc:
            body, body_error = b"", (exc.status, exc.message)
            self.close_connection = self.close_connection or exc.close
        if path.startswith(ADMIN_PREFIX):
            reply = Reply(body_error[0], {"message": body_error[1]}) if body_error else None
            self._send(reply or handle_admin(self.server.app, self.command, path, body))
            return
        headers = dict(self.headers.items())
        outcome = self.server.app.handle_api(IncomingRequest(self.command, path, headers, body, body_error))
        self._carry_out(outcome)

    def _read_body(self) -> bytes:
        transfer_encoding = self.headers.get("Transfer-Encoding")
        if transfer_encoding is not None:
            if transfer_encoding.strip().lower() != "chunked":
                raise _BodyError(400, msg.UNSUPPORTED_TRANSFER_ENCODING, close=True)
            return self._read_chunked()
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            return b""  # HTTP/1.1: no framing header means no body
        if not _DIGITS.fullmatch(length_header.strip()):
            raise _BodyError(400, msg.BODY_FRAMING_ERROR, close=True)
        length = int(length_header)
        if length > MAX_BODY_BYTES:
            raise _BodyError(413, msg.PAYLOAD_TOO_LARGE, close=not self._drain(length))
        body = self.rfile.read(length)
        if len(body) < length:
            raise _BodyError(400, msg.BODY_FRAMING_ERROR, close=True)
        return body

    def _drain(self, length: int) -> bool:
        if length > _DRAIN_LIMIT:
            return False
        remaining = length
        while remaining:
            chunk = self.rfile.read(min(remaining, 65536))
            if not chunk:
                return False
            remaining -= len(chunk)
        return True

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while size := self._chunk_size():
            total += size
            if total > MAX_BODY_BYTES:
                raise _BodyError(413, msg.PAYLOAD_TOO_LARGE, close=True)
            data = self.rfile.read(size)
            if len(data) < size or self.rfile.readline(_MAX_CHUNK_LINE) not in (b"\r\n", b"\n"):
                raise _BodyError(400, msg.BODY_FRAMING_ERROR, close=True)
            chunks.append(data)
        self._skip_trailers()
        return b"".join(chunks)

    def _chunk_size(self) -> int:
        line = self.rfile.readline(_MAX_CHUNK_LINE)
        size = line.split(b";", 1)[0].strip()
        if not line.endswith(b"\n") or not _HEX.fullmatch(size):
            raise _BodyError(400, msg.BODY_FRAMING_ERROR, close=True)
        return int(size, 16)

    def _skip_trailers(self) -> None:
        for _ in range(_MAX_TRAILERS):
            if self.rfile.readline(_MAX_CHUNK_LINE) in (b"\r\n", b"\n", b""):
                return
        raise _BodyError(400, msg.BODY_FRAMING_ERROR, close=True)

    # --- response --------------------------------------------------------------------------------

    def _carry_out(self, outcome: Outcome) -> None:
        # The stop event doubles as an interruptible sleep, so stop() never waits for a slow fault.
        if outcome.delay and self.server.stopping.wait(outcome.delay):
            self.close_connection = True
            return
        if outcome.reset or outcome.reply is None:
            self._reset_connection()
            return
        self._send(outcome.reply)

    def _send(self, reply: Reply) -> None:
        payload = json.dumps(reply.payload).encode("utf-8")
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
        except OSError:
            # The client gave up already (typically its read timeout during a slow fault).
            self.close_connection = True

    def _reset_connection(self) -> None:
        # SO_LINGER with a zero timeout turns close() into a TCP RST instead of an orderly FIN,
        # which clients report as "connection reset by peer" - what a dying load balancer does.
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
