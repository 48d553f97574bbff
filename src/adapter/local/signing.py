"""Webhook signing secrets for the local stack: what each rule file's references resolve to, and
what `braze-adapter send` signs with (the same value, except SendGrid's private key)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections import defaultdict
from typing import Any

__all__ = ["SIGNING_SECRET_PREFIX", "provision_webhook_secrets", "put_secret", "signing_material"]

SIGNING_SECRET_PREFIX = "braze-adapter-local/signing/"


def signing_material(preset: str, source: str) -> tuple[str | None, str | None]:
    """(value the rule's secret references hold, value to sign with) for a local source."""
    if preset == "none":
        return None, None
    if preset == "standard-webhooks":
        secret = "whsec_" + base64.b64encode(hashlib.sha256(f"local-{source}".encode()).digest()).decode()
        return secret, secret
    if preset == "sendgrid":
        from sources.presets import generate_sendgrid_keypair

        private_pem, public_b64 = generate_sendgrid_keypair()
        return public_b64, private_pem
    if preset == "stripe":
        secret = f"whsec_local_{source}"
        return secret, secret
    secret = f"local-{source}-signing-secret"
    return secret, secret


def provision_webhook_secrets(session: Any, rulesets: list[Any]) -> dict[str, str]:
    """Create every secret the rule files reference (Secrets Manager, SSM or env) with local values.

    Returns the signing value per source; it is also stored as `braze-adapter-local/signing/<source>`
    so `braze-adapter send` can sign from another process.
    """
    secrets_manager = session.client("secretsmanager")
    ssm = session.client("ssm")
    json_secrets: dict[str, dict[str, str]] = defaultdict(dict)
    signing: dict[str, str] = {}
    for ruleset in rulesets:
        verify_value, sign_value = signing_material(ruleset.preset, ruleset.source)
        if verify_value is None:
            continue
        signing[ruleset.source] = sign_value
        put_secret(secrets_manager, SIGNING_SECRET_PREFIX + ruleset.source, sign_value)
        for reference in ruleset.secrets:
            kind, _, rest = reference.partition(":")
            name, _, key = rest.partition("#")
            if kind == "secretsmanager" and key:
                json_secrets[name][key] = verify_value
            elif kind == "secretsmanager":
                put_secret(secrets_manager, name, verify_value)
            elif kind == "ssm":
                ssm.put_parameter(Name=name, Value=verify_value, Type="SecureString", Overwrite=True)
            elif kind == "env":
                os.environ[name] = verify_value
    for name, values in json_secrets.items():
        put_secret(secrets_manager, name, json.dumps(values))
    return signing


def put_secret(client: Any, name: str, value: str) -> None:
    try:
        client.create_secret(Name=name, SecretString=value)
    except client.exceptions.ResourceExistsException:
        client.put_secret_value(SecretId=name, SecretString=value)
