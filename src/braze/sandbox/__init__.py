"""A local Braze REST API for end-to-end tests: `/campaigns/trigger/send`, `/canvas/trigger/send`.

Behaves as Braze documents it (auth, validation, statuses, rate-limit headers) and can misbehave
on purpose (5xx, 429 bursts, slow answers, connection resets). See docs/sandbox.md.
"""

from __future__ import annotations

from ._cli import add_cli_arguments, parse_api_keys, run_from_args
from ._faults import FAULT_NAMES, SERVER_ERROR_STATUSES, Faults
from ._http import MAX_BODY_BYTES
from ._server import DEFAULT_API_KEY, DEFAULT_REJECT_PREFIX, BrazeSandbox

__all__ = [
    "BrazeSandbox",
    "DEFAULT_API_KEY",
    "DEFAULT_REJECT_PREFIX",
    "FAULT_NAMES",
    "Faults",
    "MAX_BODY_BYTES",
    "SERVER_ERROR_STATUSES",
    "add_cli_arguments",
    "parse_api_keys",
    "run_from_args",
]
