"""Chaos run: many signed events through the local stack while everything around it misbehaves,
then a reconciliation of what Braze received against what the rules say should have been sent.

Faults injected:

* the Braze sandbox answers 5xx, 429 bursts (after every N accepted requests, so a burst never
  starves the run), slow answers past the dispatch read timeout, and connection resets before
  and after Braze processed the request;
* the DynamoDB client (ingress de-duplication and the ledger) gets throttling errors;
* dispatch workers die mid-batch: after claiming (before the request leaves) and after the
  request left (before its outcome is recorded). Several workers run at once, so a batch that
  comes back after a death races the other workers for the same keys.

The report: expected sends, sent once, sent more than once (must be 0), lost (must be 0), held as
`unknown` (each listed, with whether Braze did get it), refused by Braze, dead-lettered events with
their reasons, and the faults that were injected.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

__all__ = ["ChaosOptions", "ChaosReport", "run_chaos"]

ROOT = Path(__file__).resolve().parents[3]
RULE_FILES = [ROOT / "examples" / "rules" / "stripe.yaml", *sorted((ROOT / "bench" / "chaos_rules").glob("*.yaml"))]
PRESETS = {"stripe": "stripe", "chaos-orders": "hmac", "chaos-signups": "standard-webhooks"}
HMAC_OPTIONS = {"header": "x-signature", "algorithm": "sha256", "encoding": "hex", "prefix": "sha256="}

# A killed worker's batch comes back after the visibility timeout: short here, so deaths play out
# in seconds, but, as on AWS, longer than an invocation may run, so a live worker's batch never
# comes back while it still works on it.
DISPATCH_TIMEOUT = 8  # seconds an invocation may run (the template says 30)
VISIBILITY_TIMEOUT = 12  # the template keeps 6x the timeout; 1.5x keeps this run short

Progress = Callable[[str], None]
# What identifies one send in the sandbox's records: path, campaign or canvas, user, event marker.
Marker = tuple[str, str, str, str]


class WorkerKilled(Exception):
    """Stands for a Lambda invocation that died (timeout, out of memory) mid-batch."""


@dataclass
class ChaosOptions:
    events: int = 10_000
    clients: int = 8  # concurrent webhook senders
    dispatchers: int = 2  # concurrent dispatch workers
    error_rate: float = 0.10
    slow_rate: float = 0.01
    reset_before_rate: float = 0.005
    reset_after_rate: float = 0.005
    burst_every_requests: int = 40
    burst_size: int = 3
    dynamodb_throttle_rate: float = 0.05
    kill_rate: float = 0.01
    seed: int = 7
    timeout: float = 1800.0
    every_fault_once: bool = False  # start with one of each fault, so a short run sees them all
    environment: dict[str, str] = field(default_factory=dict)  # extra handler settings


@dataclass(frozen=True)
class ExpectedSend:
    key: str  # idempotency key
    event_id: str


@dataclass
class ChaosReport:
    events: int
    expected: int
    sent_once: int
    sent_twice: list[str]
    lost: list[str]
    held: list[tuple[str, bool]]  # (idempotency key, did Braze receive it)
    failed: list[tuple[str, str]]
    dead_letters: list[tuple[str, str]]
    faults: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        reached = sum(1 for _, delivered in self.held if delivered)
        out = [
            f"events posted:             {self.events}",
            f"expected sends:            {self.expected}",
            f"sent once:                 {self.sent_once}",
            f"sent more than once:       {len(self.sent_twice)}",
            f"lost:                      {len(self.lost)}",
            f"held as unknown:           {len(self.held)} ({reached} of them reached Braze, "
            f"{len(self.held) - reached} did not; `braze-adapter ledger list --state unknown`)",
            f"failed (Braze refused):    {len(self.failed)}",
            f"dead-lettered events:      {len(self.dead_letters)}",
            "faults injected:           " + ", ".join(f"{k} {v}" for k, v in sorted(self.faults.items())),
            f"wall time:                 {self.seconds:.0f} s",
        ]
        out += [f"  held {key} ({'reached Braze' if delivered else 'not received'})" for key, delivered in self.held]
        out += [f"  dead letter {event}: {reason}" for event, reason in self.dead_letters]
        out += [f"  failed {key}: {reason}" for key, reason in self.failed]
        out += [f"  LOST {key}" for key in self.lost]
        out += [f"  SENT TWICE {key}" for key in self.sent_twice]
        return out


class _ClientFaults:
    """DynamoDB throttling and killed dispatch workers, injected in this process and counted."""

    def __init__(self, options: ChaosOptions) -> None:
        self.options = options
        self.random = random.Random(options.seed)
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()

    def roll(self, rate: float, name: str) -> bool:
        with self.lock:
            hit = self.random.random() < rate or (self.options.every_fault_once and name not in self.counts)
            if hit:
                self.counts[name] += 1
            return hit

    def install(self) -> None:
        import boto3
        from botocore.awsrequest import AWSResponse

        from braze.ledger import Ledger

        throttled = json.dumps(
            {
                "__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException",
                "message": "Rate of requests exceeds the allowed throughput.",
            }
        ).encode()

        class _Raw:  # what botocore reads a response body from
            def stream(self, **_: Any) -> Iterator[bytes]:
                yield throttled

        def throttle(request: Any, **_: Any) -> Any:
            if not self.roll(self.options.dynamodb_throttle_rate, "dynamodb throttles"):
                return None  # send it for real
            headers = {"x-amzn-RequestId": "chaos", "Content-Type": "application/x-amz-json-1.0"}
            return AWSResponse(request.url, 400, headers, _Raw())

        # The handlers build their clients from the default session; the stack's own session is spared.
        boto3.setup_default_session()
        boto3.DEFAULT_SESSION.events.register("before-send.dynamodb", throttle)

        self._originals = Ledger.mark_sending, Ledger.complete
        mark_sending, complete = self._originals
        faults = self

        def mark_sending_or_die(ledger: Any, *args: Any, **kwargs: Any) -> Any:
            if faults.roll(faults.options.kill_rate, "workers killed before sending"):
                raise WorkerKilled("killed after claiming, before the request left")
            return mark_sending(ledger, *args, **kwargs)

        def complete_or_die(ledger: Any, *args: Any, **kwargs: Any) -> Any:
            if faults.roll(faults.options.kill_rate, "workers killed after sending"):
                raise WorkerKilled("killed after the request left, before recording it")
            return complete(ledger, *args, **kwargs)

        Ledger.mark_sending, Ledger.complete = mark_sending_or_die, complete_or_die

    def uninstall(self) -> None:
        import boto3

        from braze.ledger import Ledger

        Ledger.mark_sending, Ledger.complete = self._originals
        boto3.DEFAULT_SESSION = None


def make_event(number: int, rng: random.Random) -> tuple[str, bytes]:
    """(source, body) of event `number`; every send it implies carries a `chaos-N` marker."""
    kind = number % 4
    if kind == 0:
        payment = {
            "id": f"pi_{number}",
            "customer": f"cus_{number}",
            "amount": 500 + number,
            "currency": "usd",
            "last_payment_error": {"message": f"chaos-{number}"},
        }
        body = {"id": f"evt_chaos_{number}", "type": "payment_intent.payment_failed", "data": {"object": payment}}
        return "stripe", json.dumps(body).encode()
    if kind in (1, 2):
        total = rng.choice([20, 80, 150, 400])
        body = {"order_id": f"chaos-{number}", "customer": f"c{number % 997}", "status": "paid", "total": total}
        return "chaos-orders", json.dumps(body).encode()
    user = {"id": f"user_{number}", "email": f"person{number}@chaos.example", "signup": f"chaos-{number}"}
    body = {"type": "user.created", "data": user}
    return "chaos-signups", json.dumps(body).encode()


def webhook_id(number: int) -> str:
    """The Standard Webhooks `webhook-id` of event `number` (its event id for chaos-signups)."""
    return f"msg_chaos_{number}"


def _marker(path: str, body: dict[str, Any], recipient: dict[str, Any]) -> Marker:
    target = body.get("campaign_id") or body.get("canvas_id") or ""
    properties = recipient.get("trigger_properties") or recipient.get("context") or {}
    marker = next((str(v) for v in properties.values() if str(v).startswith("chaos-")), "")
    return path, target, str(recipient.get("external_user_id")), marker


def expected_sends(events: list[tuple[str, bytes]]) -> dict[Marker, ExpectedSend]:
    """What the rules say Braze should receive, mapped offline with the same engine."""
    from mapping.engine import map_events
    from mapping.events import InboundEvent
    from mapping.ruleset import load_ruleset

    rulesets = {path.stem: load_ruleset(path) for path in RULE_FILES}
    expected: dict[Marker, ExpectedSend] = {}
    for number, (source, raw) in enumerate(events):
        body = json.loads(raw)
        event_id = body.get("id") or body.get("order_id") or webhook_id(number)
        mapped = map_events(rulesets[source], [InboundEvent(body=body, raw=raw, event_id=event_id)])
        if mapped.errors:
            raise AssertionError(f"chaos event {number} does not map: {mapped.errors}")
        for send in mapped.sends:
            expected[_marker(send.path, send.body, send.recipient)] = ExpectedSend(send.idempotency_key, event_id)
    return expected


def run_chaos(
    options: ChaosOptions, progress: Progress | None = None, observe: Callable[[Any], None] | None = None
) -> ChaosReport:
    """Start a local stack, post `options.events` signed events under faults, reconcile.

    `observe` is called with the running stack after the reconciliation, before it stops (tests
    use it to read the archive and the secrets the stack made up).
    """
    from adapter.local.stack import LocalStack, StackOptions

    say = progress or (lambda _: None)
    sandbox = {
        "error_rate": options.error_rate,
        "slow_rate": options.slow_rate,
        "slow_seconds": 2.0,
        "reset_before_rate": options.reset_before_rate,
        "reset_after_rate": options.reset_after_rate,
        "burst_reset_seconds": 2.0,
        "seed": options.seed,
    }
    if options.every_fault_once:
        sandbox["script"] = ["503", "slow", "reset_before", "reset_after"]
    # Short timeouts and leases so that deaths and slow answers play out in seconds, not minutes.
    environment = {
        "POWERTOOLS_LOG_LEVEL": "CRITICAL",
        "BRAZE_ADAPTER_READ_TIMEOUT": "1",
        "BRAZE_ADAPTER_CONNECT_TIMEOUT": "0.5",
        "BRAZE_ADAPTER_CLAIM_LEASE_SECONDS": "3",
        "BRAZE_ADAPTER_RETRY_BASE_DELAY": "1",
        "BRAZE_ADAPTER_MAX_RETRY_DELAY": "5",
        "BRAZE_ADAPTER_MAX_RECEIVE_COUNT": "50",
        **options.environment,
    }
    started = time.monotonic()
    rng = random.Random(options.seed)
    events = [make_event(number, rng) for number in range(options.events)]
    expected = expected_sends(events)
    faults = _ClientFaults(options)
    faults.install()
    stack = LocalStack(
        StackOptions(
            rules=RULE_FILES,
            sandbox_options=sandbox,
            extra_environment=environment,
            pollers=options.dispatchers,
            dispatch_timeout=DISPATCH_TIMEOUT,
            visibility_timeout=VISIBILITY_TIMEOUT,
        )
    )
    try:
        stack.start()
        with _RateLimitBursts(stack.sandbox, options.burst_every_requests, options.burst_size):
            _post_all(stack, events, options.clients, say)
            _wait_settled(stack, options.timeout, say)
        report = _reconcile(stack, options.events, expected, faults.counts, time.monotonic() - started)
        if observe is not None:
            observe(stack)
        return report
    finally:
        stack.stop()
        faults.uninstall()


class _RateLimitBursts:
    """Arms a burst of 429s in the sandbox after every `every` accepted Braze requests."""

    def __init__(self, sandbox: Any, every: int, size: int) -> None:
        self.sandbox, self.every, self.size = sandbox, every, size
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-bursts", daemon=True)

    def _run(self) -> None:
        armed_at = 0
        while not self._stop.wait(0.2):
            accepted = self.sandbox.request_count()
            if accepted - armed_at >= self.every:
                armed_at = accepted
                self.sandbox.set_faults(rate_limit_burst=self.size)

    def __enter__(self) -> _RateLimitBursts:
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        self._thread.join()


def _post_all(stack: Any, events: list[tuple[str, bytes]], clients: int, say: Progress) -> None:
    """Post every event signed, from `clients` threads; like a provider, retry until accepted."""
    from sources.presets import get_preset

    posted = Counter[str]()
    lock = threading.Lock()
    errors: list[str] = []

    def post(number: int, session: requests.Session) -> None:
        source, body = events[number]
        preset = get_preset(PRESETS[source])
        options = HMAC_OPTIONS if source == "chaos-orders" else {}
        for attempt in range(30):
            signed = preset.sign(
                body,
                stack.signing_secrets[source],
                timestamp=int(time.time()),
                event_id=webhook_id(number),
                options=options,
            )
            response = session.post(
                stack.webhook_url(source), data=body, timeout=30, headers={"content-type": "application/json", **signed}
            )
            if response.status_code == 202:
                return
            time.sleep(0.05 * (attempt + 1))
        raise RuntimeError(f"event {number} was never accepted: {response.status_code} {response.text}")

    def client(numbers: range) -> None:
        session = requests.Session()
        try:
            for number in numbers:
                post(number, session)
                with lock:
                    posted["n"] += 1
                    if posted["n"] % 500 == 0:
                        say(f"posted {posted['n']}/{len(events)}")
        except Exception as exc:  # reported after the join: a stuck client must not hang the run
            errors.append(str(exc))

    threads = [threading.Thread(target=client, args=(range(i, len(events), clients),)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(errors[0])


def _wait_settled(stack: Any, timeout: float, say: Progress) -> None:
    """Until the queue has stayed empty long enough for slow answers and leases to run out."""
    deadline = time.monotonic() + timeout
    quiet_since: float | None = None
    reported = 0.0
    while time.monotonic() < deadline:
        depths = stack.queue_depths()
        now = time.monotonic()
        if now - reported > 10:
            reported = now
            say(
                f"queue {depths['queue']}, dead letters {depths['dead_letter']}, "
                f"Braze requests accepted {stack.sandbox.request_count()}"
            )
        if depths["queue"]:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now
        elif now - quiet_since > 8:
            return
        time.sleep(0.5)
    raise TimeoutError(f"the queue did not drain within {timeout:.0f} s: {stack.queue_depths()}")


def _received(sandbox: Any) -> Counter[Marker]:
    """How often the sandbox accepted each send (recipients it answered with an error excluded)."""
    received: Counter[Marker] = Counter()
    for record in sandbox.requests():
        refused = {error.get("index") for error in record.get("errors") or [] if isinstance(error, dict)}
        for index, recipient in enumerate(record["body"].get("recipients", [])):
            if index not in refused:
                received[_marker(record["path"], record["body"], recipient)] += 1
    return received


def _reconcile(
    stack: Any, events: int, expected: dict[Marker, ExpectedSend], client_faults: Counter[str], seconds: float
) -> ChaosReport:
    received = _received(stack.sandbox)
    ledger = {item["pk"]["S"]: item for item in _scan(stack.session.client("dynamodb"), stack.resources.table)}
    dead_letters = _drain_dead_letters(stack)
    dead_events = {event_id for event_id, _ in dead_letters}
    sent_once, sent_twice, lost, held, failed = 0, [], [], [], []
    for marker, send in expected.items():
        count = received[marker]
        item = ledger.get(send.key, {})
        state = item.get("state", {}).get("S")
        sent_once += count == 1
        if count > 1:
            sent_twice.append(send.key)
        if state == "unknown":
            held.append((send.key, count > 0))
        elif state == "failed":
            failed.append((send.key, item.get("reason", {}).get("S", "")))
        elif count == 0 and send.event_id not in dead_events:
            lost.append(send.key)
    faults = Counter(client_faults)
    for attempt in stack.sandbox.attempts():
        fault, status = attempt.get("fault"), attempt.get("status") or 0
        if fault in ("slow", "reset_before", "reset_after"):
            faults[f"braze {fault}"] += 1
        elif status == 429:
            faults["braze 429"] += 1
        elif status >= 500:
            faults["braze 5xx"] += 1
    return ChaosReport(
        events, len(expected), sent_once, sent_twice, lost, held, failed, dead_letters, dict(faults), seconds
    )


def _drain_dead_letters(stack: Any) -> list[tuple[str, str]]:
    """(event id, reason) of every message in the dead-letter queue."""
    sqs = stack.session.client("sqs")
    url = stack.resources.dead_letter_queue_url
    found = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get(
        "Messages", []
    ):
        for message in batch:
            attributes = message.get("MessageAttributes") or {}
            event_id = attributes.get("event_id", {}).get("StringValue", "?")
            reason = attributes.get("error", {}).get("StringValue", "(moved by SQS redrive, no reason)")
            found.append((event_id, reason))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def _scan(dynamodb: Any, table: str) -> Iterator[dict[str, Any]]:
    kwargs: dict[str, Any] = {"TableName": table}
    while True:
        page = dynamodb.scan(**kwargs)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
