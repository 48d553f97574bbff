"""A local HTTP API: turns HTTP requests into API Gateway v2 events for the template's routes and
calls the handlers in-process (no Docker)."""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from adapter.local.lambda_runtime import LambdaContext, http_api_event, http_api_response, load_handler

__all__ = ["LocalGateway", "Route"]

logger = logging.getLogger(__name__)
MAX_REQUEST_BYTES = 10 * 1024 * 1024  # API Gateway's own payload limit


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # /hooks/{source}
    handler: str  # handlers.ingress.lambda_handler
    function_name: str
    timeout: float = 30.0

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.method not in ("ANY", method):
            return None
        pattern = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path)) + "$"
        found = re.match(pattern, path)
        return found.groupdict() if found else None


class LocalGateway:
    def __init__(self, routes: list[Route], host: str = "127.0.0.1", port: int = 0) -> None:
        self.routes = routes
        handler = type("_Handler", (_RequestHandler,), {"gateway": self})
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> LocalGateway:
        self._thread = threading.Thread(target=self.server.serve_forever, name="gateway", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def invoke(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes) -> tuple[int, dict, bytes]:
        parts = urlsplit(target)
        for route in self.routes:
            parameters = route.match(method, parts.path)
            if parameters is None:
                continue
            event = http_api_event(
                method=method,
                raw_path=parts.path,
                raw_query=parts.query,
                headers=headers,
                body=body,
                route_key=f"{route.method} {route.path}",
                path_parameters=parameters,
            )
            try:
                result = load_handler(route.handler)(event, LambdaContext(route.function_name, route.timeout))
            except Exception:
                logger.exception("handler %s failed", route.handler)
                return 500, {"content-type": "application/json"}, b'{"message":"Internal Server Error"}'
            return http_api_response(result)
        return 404, {"content-type": "application/json"}, b'{"message":"Not Found"}'


class _RequestHandler(BaseHTTPRequestHandler):
    gateway: LocalGateway
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # without it keep-alive requests wait ~40 ms (Nagle + delayed ACK)

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_REQUEST_BYTES:
            self._reply(413, {"content-type": "application/json"}, b'{"message":"Request Entity Too Large"}')
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        status, headers, payload = self.gateway.invoke(self.command, self.path, list(self.headers.items()), body)
        self._reply(status, headers, payload)

    def _reply(self, status: int, headers: dict[str, str], payload: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name not in ("content-length", "connection"):
                self.send_header(name, value)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the handlers log
        pass
