"""`BrazeSandbox`: the public, start/stop-able fake Braze REST API (stripe_mock's idea)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from ._app import SandboxApp, SandboxConfig
from ._endpoints import ALL_PERMISSIONS
from ._faults import SERVER_ERROR_STATUSES, Faults
from ._http import SandboxHTTPServer

DEFAULT_API_KEY = "sandbox-key"
DEFAULT_REJECT_PREFIX = "sandbox-reject"

RejectSpec = Collection[str] | Callable[[str], bool] | None


class BrazeSandbox:
    """A local HTTP server that behaves like Braze's `/campaigns/trigger/send` and `/canvas/trigger/send`.

    Example
    -------
    >>> with BrazeSandbox(campaign_ids={"c-1"}) as braze:
    ...     requests.post(f"{braze.url}/campaigns/trigger/send", json={...},
    ...                   headers={"Authorization": "Bearer sandbox-key"})
    ...     assert braze.requests()[0]["body"]["campaign_id"] == "c-1"
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_keys: Mapping[str, Iterable[str]] | None = None,
        campaign_ids: Iterable[str] | None = None,
        canvas_ids: Iterable[str] | None = None,
        paused_canvases: Iterable[str] = (),
        archived_canvases: Iterable[str] = (),
        rate_limit: int = 250_000,
        rate_window_seconds: float = 3600,
        reject_recipients: RejectSpec = None,
        seed: int | None = None,
        error_rate: float = 0.0,
        error_statuses: Iterable[int] = SERVER_ERROR_STATUSES,
        rate_limit_burst: int = 0,
        burst_reset_seconds: float = 5.0,
        slow_rate: float = 0.0,
        slow_seconds: float = 2.0,
        reset_before_rate: float = 0.0,
        reset_after_rate: float = 0.0,
        script: Iterable[str] = (),
        verbose: bool = False,
        clock: Callable[[], float] = time.time,
        max_records: int = 10_000,
    ) -> None:
        faults = Faults().updated(
            error_rate=error_rate,
            error_statuses=list(error_statuses),
            rate_limit_burst=rate_limit_burst,
            burst_reset_seconds=burst_reset_seconds,
            slow_rate=slow_rate,
            slow_seconds=slow_seconds,
            reset_before_rate=reset_before_rate,
            reset_after_rate=reset_after_rate,
            script=list(script),
        )
        config = SandboxConfig(
            api_keys=_normalise_keys(api_keys),
            campaign_ids=None if campaign_ids is None else frozenset(campaign_ids),
            canvas_ids=None if canvas_ids is None else frozenset(canvas_ids),
            paused_canvases=frozenset(paused_canvases),
            archived_canvases=frozenset(archived_canvases),
            rate_limit=rate_limit,
            rate_window_seconds=rate_window_seconds,
            reject_recipient=_reject_predicate(reject_recipients),
            seed=seed,
            faults=faults,
            max_records=max_records,
        )
        self._host = host
        self._port = port
        self._verbose = verbose
        self._app = SandboxApp(config, clock)
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> BrazeSandbox:
        """Bind and serve on a background thread; returns self. Calling it twice is harmless."""
        if self._server is None:
            server = SandboxHTTPServer((self._host, self._port), self._app, self._verbose)
            self._thread = threading.Thread(
                target=server.serve_until_stopped, name=f"braze-sandbox-{server.server_address[1]}", daemon=True
            )
            self._server = server
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, drop open connections and cut short pending slow responses. Idempotent."""
        server, self._server = self._server, None
        if server is None:
            return
        server.stop_serving()
        if self._thread is not None:
            self._thread.join(timeout=5)
        server.close_connections()
        server.server_close()

    def __enter__(self) -> BrazeSandbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the sandbox is not running; call start() first")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL to use as the Braze REST endpoint, e.g. http://127.0.0.1:54321 (no trailing slash)."""
        host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(self._host, self._host)
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    def __repr__(self) -> str:
        state = self.url if self._server else "stopped"
        return f"<BrazeSandbox {state}>"

    # --- inspection and control ------------------------------------------------------------------

    def requests(self) -> list[dict[str, Any]]:
        """Accepted (201) requests, oldest first. Same objects as GET /_sandbox/requests."""
        return self._app.requests()

    def request_count(self) -> int:
        """How many accepted requests `requests()` would return, without copying them."""
        return self._app.request_count()

    def attempts(self) -> list[dict[str, Any]]:
        """Every request to a non-admin path with what it got (status, fault). GET /_sandbox/attempts."""
        return self._app.attempts()

    def clear(self) -> None:
        """Forget requests and attempts (DELETE /_sandbox/requests). Faults and quota are kept."""
        self._app.clear()

    def reset(self) -> None:
        """Back to just-constructed: records, sequence numbers, quota, faults and RNG seeds."""
        self._app.reset()

    def set_faults(self, **changes: Any) -> dict[str, Any]:
        """Change some fault options (same names as the constructor); returns the resulting settings.

        Raises ValueError for unknown names or out-of-range values, changing nothing.
        """
        return self._app.set_faults(**changes)

    def clear_faults(self) -> dict[str, Any]:
        """Turn every fault off (DELETE /_sandbox/faults)."""
        return self._app.clear_faults()

    @property
    def faults(self) -> dict[str, Any]:
        """Current fault settings, with the *pending* script and burst count."""
        return self._app.faults()


def _normalise_keys(api_keys: Mapping[str, Iterable[str]] | None) -> dict[str, frozenset[str]]:
    if api_keys is None:
        return {DEFAULT_API_KEY: ALL_PERMISSIONS}
    keys = {}
    for key, permissions in api_keys.items():
        if not isinstance(key, str) or not key:
            raise ValueError("API keys must be non-empty strings")
        if isinstance(permissions, str):
            raise TypeError(f"permissions of {key!r} must be a collection of names, not a string")
        keys[key] = frozenset(permissions)
    return keys


def _reject_predicate(spec: RejectSpec) -> Callable[[str], bool]:
    if spec is None:
        return lambda identifier: identifier.startswith(DEFAULT_REJECT_PREFIX)
    if callable(spec):
        return spec
    if isinstance(spec, str):
        spec = [spec]
    rejected = frozenset(spec)
    return rejected.__contains__
