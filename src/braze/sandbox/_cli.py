"""Command-line glue: `braze-adapter` mounts these flags; `python -m braze.sandbox` uses them directly."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
import time
from collections.abc import Iterator

from ._endpoints import ALL_PERMISSIONS
from ._server import DEFAULT_API_KEY, BrazeSandbox

DEFAULT_CLI_PORT = 4010


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the sandbox's flags to `parser` (all optional; defaults match BrazeSandbox except --port)."""
    group = parser.add_argument_group("Braze sandbox")
    group.add_argument("--host", default="127.0.0.1", help="interface to bind (default: %(default)s)")
    group.add_argument(
        "--port", type=int, default=DEFAULT_CLI_PORT, help="port, 0 = any free port (default: %(default)s)"
    )
    group.add_argument(
        "--api-key",
        action="append",
        metavar="KEY[:PERMISSION,...]",
        help=f"accepted REST API key, repeatable; without permissions it gets {', '.join(sorted(ALL_PERMISSIONS))} "
        f"(default: one key {DEFAULT_API_KEY!r})",
    )
    group.add_argument("--error-rate", type=float, default=0.0, help="fraction of calls answered 5xx, unprocessed")
    group.add_argument("--rate-limit", type=int, default=250_000, help="requests per window (default: %(default)s)")
    group.add_argument(
        "--rate-window", type=float, default=3600, help="window seconds, clock-aligned (default: %(default)s)"
    )
    group.add_argument("--slow-rate", type=float, default=0.0, help="fraction of calls accepted but answered late")
    group.add_argument("--slow-seconds", type=float, default=2.0, help="delay of a slow answer (default: %(default)s)")
    group.add_argument(
        "--reset-before-rate", type=float, default=0.0, help="fraction of connections reset, unprocessed"
    )
    group.add_argument("--reset-after-rate", type=float, default=0.0, help="fraction accepted, then connection reset")
    group.add_argument("--seed", type=int, default=None, help="seed for reproducible faults and ids")
    group.add_argument("--verbose", action="store_true", help="log every request to stderr")


def run_from_args(args: argparse.Namespace) -> int:
    """Serve in the foreground until Ctrl-C (or SIGTERM); returns the process exit code."""
    try:
        sandbox = BrazeSandbox(
            host=args.host,
            port=args.port,
            api_keys=parse_api_keys(args.api_key),
            rate_limit=args.rate_limit,
            rate_window_seconds=args.rate_window,
            error_rate=args.error_rate,
            slow_rate=args.slow_rate,
            slow_seconds=args.slow_seconds,
            reset_before_rate=args.reset_before_rate,
            reset_after_rate=args.reset_after_rate,
            seed=args.seed,
            verbose=args.verbose,
        )
        sandbox.start()
    except (ValueError, OSError) as exc:
        print(f"braze sandbox: {exc}", file=sys.stderr)
        return 2
    print(f"Braze sandbox listening on {sandbox.url}", flush=True)
    try:
        with _sigterm_as_interrupt():
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
    print("Braze sandbox stopped", flush=True)
    return 0


def parse_api_keys(values: list[str] | None) -> dict[str, set[str]] | None:
    """`["k1", "k2:canvas.trigger.send"]` -> {"k1": <all>, "k2": {"canvas.trigger.send"}}; None keeps the default."""
    if not values:
        return None
    keys: dict[str, set[str]] = {}
    for value in values:
        key, _, permissions = value.partition(":")
        if not key:
            raise ValueError(f"--api-key {value!r}: the key is empty")
        keys[key] = {p.strip() for p in permissions.split(",") if p.strip()} if permissions else set(ALL_PERMISSIONS)
    return keys


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    # Process managers (make run, docker) stop us with SIGTERM; treat it like Ctrl-C so the
    # server shuts down cleanly. Signal handlers can only be installed from the main thread.
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
