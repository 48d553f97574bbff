"""The `/_sandbox/*` admin API: inspect what arrived and steer faults, without an API key.

Admin calls are not Braze traffic: they never draw a fault, never count against the rate
limit, and are not logged as attempts.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from . import _messages as msg
from ._app import Reply, SandboxApp

ADMIN_PREFIX = "/_sandbox/"


def handle_admin(app: SandboxApp, method: str, path: str, body: bytes) -> Reply:
    handler = _ROUTES.get((method, path.rstrip("/")))
    if handler is None:
        return Reply(404, {"message": msg.INVALID_URL})
    return handler(app, body)


def _health(_app: SandboxApp, _body: bytes) -> Reply:
    return Reply(200, {"status": "ok"})


def _get_requests(app: SandboxApp, _body: bytes) -> Reply:
    return Reply(200, app.requests())


def _get_attempts(app: SandboxApp, _body: bytes) -> Reply:
    return Reply(200, app.attempts())


def _delete_requests(app: SandboxApp, _body: bytes) -> Reply:
    app.clear()
    return Reply(200, {"message": "cleared"})


def _get_faults(app: SandboxApp, _body: bytes) -> Reply:
    return Reply(200, app.faults())


def _post_faults(app: SandboxApp, body: bytes) -> Reply:
    try:
        changes = json.loads(body.decode("utf-8") or "{}")
        if not isinstance(changes, dict):
            raise ValueError("the body must be a JSON object of fault options")
        return Reply(200, app.set_faults(**changes))
    except (ValueError, RecursionError) as exc:  # includes JSON and UTF-8 errors
        return Reply(400, {"message": str(exc)})


def _delete_faults(app: SandboxApp, _body: bytes) -> Reply:
    return Reply(200, app.clear_faults())


def _post_reset(app: SandboxApp, _body: bytes) -> Reply:
    app.reset()
    return Reply(200, {"message": "reset"})


_ROUTES: dict[tuple[str, str], Callable[[SandboxApp, bytes], Reply]] = {
    ("GET", "/_sandbox/health"): _health,
    ("GET", "/_sandbox/requests"): _get_requests,
    ("DELETE", "/_sandbox/requests"): _delete_requests,
    ("GET", "/_sandbox/attempts"): _get_attempts,
    ("GET", "/_sandbox/faults"): _get_faults,
    ("POST", "/_sandbox/faults"): _post_faults,
    ("DELETE", "/_sandbox/faults"): _delete_faults,
    ("POST", "/_sandbox/reset"): _post_reset,
}
