"""`braze-adapter serve` (the whole product locally) and `braze-adapter send` (a signed sample)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

__all__ = ["add_commands"]

# Providers that send their delivery id in a header: a sample gets a fresh one, like a real delivery.
DELIVERY_ID_HEADERS = {
    "github": "x-github-delivery",
    "shopify": "x-shopify-webhook-id",
    "zendesk": "x-zendesk-webhook-invocation-id",
    "twilio": "i-twilio-idempotency-token",
}


def add_commands(commands: Any) -> None:
    serve = commands.add_parser("serve", help="run the whole product locally (moto, gateway, dispatch, Braze sandbox)")
    serve.add_argument("--port", type=int, default=8080, help="webhook gateway port (default 8080)")
    serve.add_argument("--sandbox-port", type=int, help="Braze sandbox port (default: gateway port + 1)")
    serve.add_argument("--rules", nargs="+", type=Path, help="rule files to publish (default: examples/rules)")
    serve.add_argument("--log-level", default="WARNING", help="handler log level (default WARNING)")
    serve.set_defaults(handler=cmd_serve)

    send = commands.add_parser("send", help="sign a sample payload with the source's preset and post it")
    send.add_argument("source")
    send.add_argument("event_file", type=Path, metavar="EVENT_FILE")
    send.add_argument("--url", help="webhook URL (default: the local stack's /hooks/SOURCE)")
    send.add_argument("--secret", help="signing secret or reference (default: the local stack's secret)")
    send.add_argument("--rules", type=Path, help="rule file giving the preset (default: the published one)")
    send.add_argument("--header", action="append", default=[], metavar="'Name: value'")
    send.add_argument("--event-id", help="delivery id for presets that sign or send one (default: random)")
    send.add_argument("--stack", help="CloudFormation stack name (default: the local stack)")
    send.set_defaults(handler=cmd_send)


def cmd_serve(args: argparse.Namespace) -> int:
    from adapter.local.stack import STATE_FILE, LocalStack, StackOptions

    options = StackOptions(
        gateway_port=args.port,
        sandbox_port=args.sandbox_port,
        braze_endpoint=os.environ.get("BRAZE_REST_ENDPOINT"),
        braze_api_key=os.environ.get("BRAZE_API_KEY"),
        extra_environment={"POWERTOOLS_LOG_LEVEL": args.log_level.upper()},
        state_file=STATE_FILE,
    )
    if args.rules:
        options.rules = list(args.rules)
    try:
        stack = LocalStack(options).start()
    except OSError as exc:
        print(f"cannot start: {exc} (is another `make run` using port {args.port}?)", file=sys.stderr)
        return 1
    sources = ", ".join(sorted(stack.rule_versions))
    sample = "stripe" if "stripe" in stack.rule_versions else sorted(stack.rule_versions)[0]
    sample_file = _sample_event(sample)
    braze = f"{stack.braze_url} (Braze sandbox)" if stack.sandbox else f"{stack.braze_url} (real Braze)"
    print(
        f"braze-webhook-adapter is running (started in {stack.startup_seconds:.1f} s)\n"
        f"  webhooks:  {stack.gateway_url}/hooks/<source>   sources: {sources}\n"
        f"  Braze:     {braze}\n"
        f"  AWS:       {stack.moto_url} (moto: S3, SQS, DynamoDB, Secrets Manager, SSM)\n\n"
        f"Send a signed sample, then look at what Braze received:\n"
        f"  .venv/bin/braze-adapter send {sample} {sample_file}\n"
        + (f"  curl -s {stack.braze_url}/_sandbox/requests\n" if stack.sandbox else "")
        + "\nCtrl-C stops everything.",
        flush=True,
    )
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        while not stopped.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        print("\nstopping...", file=sys.stderr)
        stack.stop()
    return 0


def _sample_event(source: str) -> str:
    preferred = {"stripe": "events/stripe/checkout.session.completed.json"}
    if source in preferred:
        return preferred[source]
    files = sorted(Path("events", source).glob("*.json"))
    return str(files[0]) if files else "EVENT_FILE"


def cmd_send(args: argparse.Namespace) -> int:
    import requests

    from adapter import ops
    from adapter.local.signing import SIGNING_SECRET_PREFIX
    from adapter.local.stack import read_state
    from adapter.secrets import resolve_secret
    from mapping.source_config import parse_source_config
    from sources.presets import get_preset

    body = args.event_file.read_bytes()
    state = read_state() if args.stack is None else None
    url = args.url or (f"{state['gateway_url']}/hooks/{args.source}" if state else None)
    if url is None:
        print("no local stack is running (make run); pass --url", file=sys.stderr)
        return 2
    stack = ops.connect(args.stack) if (state or args.stack) and (args.rules is None or args.secret is None) else None
    if args.rules is not None:
        config = parse_source_config(args.rules.read_text(), f"rules/{args.rules.name}")
    else:
        config = _published_config(stack, args.source, parse_source_config)
    preset = get_preset(config.preset)
    secret = None
    if preset.needs_secret:
        reference = args.secret or f"secretsmanager:{SIGNING_SECRET_PREFIX}{args.source}"
        secret = resolve_secret(reference, max_age=0) if _is_reference(reference) else reference
    headers = {"content-type": "application/json"}
    for value in args.header:
        name, _, content = value.partition(":")
        headers[name.strip().lower()] = content.strip()
    event_id = args.event_id or f"msg_{uuid.uuid4().hex}"
    id_header = DELIVERY_ID_HEADERS.get(config.preset)
    if id_header and id_header not in headers:
        headers[id_header] = event_id
    if secret is not None:
        signed = preset.sign(
            body, secret, timestamp=int(time.time()), url=url, event_id=event_id, options=config.options
        )
        headers.update({k.lower(): v for k, v in signed.items()})
    response = requests.post(url, data=body, headers=headers, timeout=30)
    print(f"{response.status_code} {response.text}")
    return 0 if response.ok else 1


def _published_config(stack: Any, source: str, parse: Any) -> Any:
    s3 = stack.client("s3")
    for suffix in (".yaml", ".yml", ".json"):
        key = f"rules/{source}{suffix}"
        try:
            text = s3.get_object(Bucket=stack.bucket, Key=key)["Body"].read().decode()
        except s3.exceptions.NoSuchKey:
            continue
        return parse(text, key)
    raise SystemExit(f"no published rule file for source {source!r}")


def _is_reference(value: str) -> bool:
    return value.split(":", 1)[0] in ("secretsmanager", "ssm", "env")
