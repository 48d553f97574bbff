"""Shared helpers for the ``sources`` unit tests (a plain module: no __init__.py here, so
the folder name cannot shadow the ``sources`` package under src/)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sources.presets import generate_sendgrid_keypair, generate_standard_webhooks_keypair
from sources.request import WebhookRequest

DATA = Path(__file__).resolve().parents[2] / "data" / "signatures"
NOW = 1_750_000_000  # a fixed "current time" for the synthetic cases
PUBLIC_URL = "https://hooks.example.com/webhooks/provider?source=test"

SENDGRID_PRIVATE, SENDGRID_PUBLIC = generate_sendgrid_keypair()
ED25519_PRIVATE, ED25519_PUBLIC = generate_standard_webhooks_keypair()


def load_vectors(filename: str) -> list[dict[str, Any]]:
    """The ``vectors`` list of one signature file in tests/data/signatures."""
    return json.loads((DATA / filename).read_text(encoding="utf-8"))["vectors"]


def vector_params(filename: str) -> list[Any]:
    """pytest params, one per vector, named after the vector."""
    return [pytest.param(v, id=v["name"][:60]) for v in load_vectors(filename)]


def data_bytes(relative: str) -> bytes:
    """Exact bytes of a file under tests/data/signatures."""
    return (DATA / relative).read_bytes()


def payload(relative: str) -> Any:
    """A corpus payload under tests/data/signatures/webhooks, parsed."""
    return json.loads(data_bytes(f"webhooks/{relative}"))


@dataclass
class Case:
    """How to exercise one preset generically."""

    name: str
    sig_header: str  # the signature header as sign() spells it
    malformed: str  # a signature header value that cannot be parsed
    secret: str = "s3cret-CANARY-value-0123456789"  # signing secret
    verify_secret: str | None = None  # when verifying needs another form (public keys)
    wrong_secret: str = "another-secret-entirely"
    body: bytes = b'{"id":"evt_1","type":"thing.happened","n":12345678901234567890}'
    content_type: str = "application/json"
    options: dict[str, Any] = field(default_factory=dict)
    timestamp_header: str | None = None  # separate timestamp header as sign() spells it
    timestamped: bool = False

    @property
    def secrets(self) -> list[str]:
        return [self.verify_secret or self.secret]


_WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
_WHSEC_OTHER = "whsec_dGhpcy1pcy1hbm90aGVyLWtleS0xMjM0NTY3OA=="

CASES: dict[str, Case] = {
    c.name: c
    for c in [
        Case("stripe", "Stripe-Signature", f"t={NOW},v1=not-hex!", timestamped=True),
        Case("calendly", "Calendly-Webhook-Signature", f"t={NOW},v1=zz", timestamped=True),
        Case("github", "X-Hub-Signature-256", "sha1=0123abcd"),
        Case("shopify", "X-Shopify-Hmac-Sha256", "***not base64***"),
        Case("slack", "X-Slack-Signature", "v1=abcdef", timestamped=True, timestamp_header="X-Slack-Request-Timestamp"),
        Case(
            "standard-webhooks",
            "webhook-signature",
            "v1,@@@not-base64@@@",
            secret=_WHSEC,
            wrong_secret=_WHSEC_OTHER,
            timestamped=True,
            timestamp_header="webhook-timestamp",
        ),
        Case(
            "twilio",
            "X-Twilio-Signature",
            "!!!",
            body=b"From=%2B14155550100&Body=Hello+there&MediaUrl=a&MediaUrl=b",
            content_type="application/x-www-form-urlencoded",
            options={"url": PUBLIC_URL},
        ),
        Case("typeform", "Typeform-Signature", "sha256=!!!"),
        Case("paddle", "Paddle-Signature", f"ts={NOW};h1=not-hex", timestamped=True),
        Case("square", "x-square-hmacsha256-signature", "%%%", options={"url": PUBLIC_URL}),
        Case("lemonsqueezy", "X-Signature", "xyz"),
        Case("segment", "X-Signature", "not-hex"),
        Case(
            "sendgrid",
            "X-Twilio-Email-Event-Webhook-Signature",
            "!!!",
            secret=SENDGRID_PRIVATE,
            verify_secret=SENDGRID_PUBLIC,
            wrong_secret=generate_sendgrid_keypair()[1],
            body=b'[{"email":"a@example.com","event":"open","sg_event_id":"x"}]\r\n',
            timestamped=True,
            timestamp_header="X-Twilio-Email-Event-Webhook-Timestamp",
        ),
        Case(
            "zendesk",
            "X-Zendesk-Webhook-Signature",
            "!!!",
            timestamped=True,
            timestamp_header="X-Zendesk-Webhook-Signature-Timestamp",
        ),
        Case(
            "hubspot",
            "X-HubSpot-Signature-v3",
            "!!!",
            options={"url": PUBLIC_URL},
            timestamped=True,
            timestamp_header="X-HubSpot-Request-Timestamp",
        ),
        Case(
            "twitch",
            "Twitch-Eventsub-Message-Signature",
            "sha256=xyz",
            timestamped=True,
            timestamp_header="Twitch-Eventsub-Message-Timestamp",
        ),
        Case("intercom", "X-Hub-Signature", "sha256=abc"),
        Case(
            "hmac",
            "X-Custom-Signature",
            "md5=abc",
            options={"header": "X-Custom-Signature", "prefix": "sha256=", "encoding": "base64"},
        ),
    ]
}

TIMESTAMPED = sorted(n for n, c in CASES.items() if c.timestamped)
UNTIMESTAMPED = sorted(n for n, c in CASES.items() if not c.timestamped)


def make_request(case: Case, headers: dict[str, str], body: bytes | None = None) -> WebhookRequest:
    """A request as the provider would send it, to PUBLIC_URL."""
    return WebhookRequest.from_dict(
        {"Content-Type": case.content_type, **headers},
        case.body if body is None else body,
        url=PUBLIC_URL,
    )


def signed(
    case: Case, *, timestamp: int = NOW, secret: str | None = None, event_id: str | None = None
) -> dict[str, str]:
    """Headers sign() produces for the case's body."""
    from sources.presets import get_preset

    return get_preset(case.name).sign(
        case.body, secret or case.secret, timestamp=timestamp, url=PUBLIC_URL, event_id=event_id, options=case.options
    )


def tamper(body: bytes) -> bytes:
    """The body with its last byte changed (the smallest possible tampering)."""
    return body[:-1] + bytes([body[-1] ^ 0x01])


def reason_of(name: str, request: WebhookRequest, secrets: list[str], **kwargs: Any) -> str:
    """The SignatureError reason verify() raises for this case's preset (fails if it passes)."""
    from sources.exceptions import SignatureError
    from sources.presets import get_preset

    with pytest.raises(SignatureError) as err:
        get_preset(name).verify(request, secrets, options=CASES[name].options, **kwargs)
    return err.value.reason
