"""Check a rendered send or a batched request against the Braze contract before it can leave."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from braze.models import CAMPAIGN_PATH, CANVAS_PATH, CampaignTriggerSend, CanvasTriggerSend

__all__ = ["ContractProblem", "check_request", "check_send"]

ContractProblem = tuple[tuple[str | int, ...], str]  # (location in the body, message)

_MODELS = {CAMPAIGN_PATH: CampaignTriggerSend, CANVAS_PATH: CanvasTriggerSend}


def check_request(path: str, body: dict[str, Any]) -> list[ContractProblem]:
    """Every contract problem of a full request body; empty when Braze would accept its shape."""
    model = _MODELS.get(path)
    if model is None:
        return [((), f"unknown Braze path {path}")]
    try:
        model.model_validate(body)
    except ValidationError as exc:
        return [(tuple(error["loc"]), _message(error)) for error in exc.errors()]
    return []


def check_send(path: str, body: dict[str, Any], recipient: dict[str, Any] | None) -> list[ContractProblem]:
    """Problems of one send: its body plus its one recipient (locations use `recipient`, not `recipients[0]`)."""
    full = dict(body) if recipient is None else {**body, "recipients": [recipient]}
    problems = []
    for loc, message in check_request(path, full):
        if loc[:2] == ("recipients", 0):
            loc = ("recipient", *loc[2:])
        problems.append((loc, message))
    return problems


def _message(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "is not a documented Braze field"
    if kind == "missing":
        return "is required"
    return str(error["msg"]).removeprefix("Value error, ")
