"""The whole product on one machine, no AWS account, no Docker (`make run`, the e2e tests).

A moto server on 127.0.0.1 plays S3, SQS, DynamoDB, Secrets Manager and SSM, with the bucket,
queues and table template.yaml declares; the example rules are published; the Braze sandbox (or
real Braze) receives the sends; a local HTTP API runs the ingress handler for the template's
routes; a poller feeds the queue to the dispatch handler with partial-batch-failure semantics.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapter.local.gateway import LocalGateway, Route
from adapter.local.lambda_runtime import load_handler
from adapter.local.poller import QueuePoller
from adapter.local.resources import TEMPLATE, LocalResources, create_resources
from adapter.local.signing import provision_webhook_secrets, put_secret
from adapter.local.template import StackTemplate, load_template

__all__ = ["LocalStack", "StackOptions", "read_state"]

ROOT = Path(__file__).resolve().parents[3]
# Where `serve` tells other commands (send, ledger, replay...) how to reach it.
STATE_FILE = Path(os.environ.get("BRAZE_ADAPTER_LOCAL_STATE", ROOT / ".local" / "stack.json"))
SANDBOX_KEY = "sandbox-key"


@dataclass
class StackOptions:
    gateway_port: int = 0
    sandbox_port: int | None = None  # default: gateway port + 1 (0: any free port)
    moto_port: int = 0
    rules: list[Path] = field(default_factory=lambda: sorted((ROOT / "examples" / "rules").glob("*.y*ml")))
    braze_endpoint: str | None = None  # real Braze instead of the sandbox
    braze_api_key: str | None = None
    sandbox_options: dict[str, Any] = field(default_factory=dict)
    poll: bool = True
    pollers: int = 1  # dispatch workers running at once, like concurrent Lambda instances
    batch_size: int = 100
    batching_window: float = 0.2
    dispatch_timeout: float | None = None  # default: the template's
    visibility_timeout: int | None = None  # default: the template's (set before any worker polls)
    extra_environment: dict[str, str] = field(default_factory=dict)
    state_file: Path | None = None


class LocalStack:
    def __init__(self, options: StackOptions | None = None) -> None:
        self.options = options or StackOptions()
        self.template: StackTemplate = load_template(TEMPLATE)
        self.sandbox: Any = None
        self.gateway: LocalGateway | None = None
        self.pollers: list[QueuePoller] = []
        self.resources: LocalResources | None = None
        self.signing_secrets: dict[str, str] = {}
        self.rule_versions: dict[str, str | None] = {}
        self._moto: Any = None
        self._saved_env: dict[str, str | None] = {}

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> LocalStack:
        started = time.monotonic()
        self._start_moto()
        import boto3

        self.session = boto3.Session(region_name="us-east-1")
        self.resources = create_resources(self.session, self.template)
        if self.options.visibility_timeout is not None:
            self.session.client("sqs").set_queue_attributes(
                QueueUrl=self.resources.queue_url,
                Attributes={"VisibilityTimeout": str(self.options.visibility_timeout)},
            )
        braze_endpoint, braze_key = self._start_braze()
        self._configure_functions(braze_endpoint, braze_key)
        self.publish(self.options.rules)
        self._start_gateway()
        if self.options.poll:
            self._start_poller()
        self.startup_seconds = time.monotonic() - started
        if self.options.state_file:
            self._write_state(self.options.state_file)
        return self

    def stop(self) -> None:
        for part in (*self.pollers, self.gateway, self.sandbox):
            if part is not None:
                part.stop()
        if self._moto is not None:
            self._moto.terminate()
            try:
                self._moto.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._moto.kill()
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        _forget_handler_state()
        if self.options.state_file and self.options.state_file.exists():
            self.options.state_file.unlink()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    # --- pieces ---------------------------------------------------------------------------------

    def _setenv(self, values: dict[str, str]) -> None:
        for name, value in values.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            os.environ[name] = value

    def _start_moto(self) -> None:
        # moto runs in a process of its own: AWS emulation then has its own core and interpreter lock.
        command = [sys.executable, "-m", "adapter.local.moto_process", "--port", str(self.options.moto_port)]
        self._moto = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=os.environ.copy())
        address = self._moto.stdout.readline().strip() if self._moto.stdout else ""
        if not address:
            raise OSError(f"the moto server did not start (exit code {self._moto.poll()})")
        self.moto_url = f"http://{address}"
        self._setenv(
            {
                "AWS_ENDPOINT_URL": self.moto_url,
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "false",
            }
        )
        os.environ.pop("AWS_PROFILE", None)

    def _start_braze(self) -> tuple[str, str]:
        if self.options.braze_endpoint:
            if not self.options.braze_api_key:
                raise ValueError("BRAZE_API_KEY is required with BRAZE_REST_ENDPOINT")
            return self.options.braze_endpoint, self.options.braze_api_key
        from braze.sandbox import BrazeSandbox

        port = self.options.sandbox_port
        if port is None:
            port = self.options.gateway_port + 1 if self.options.gateway_port else 0
        self.sandbox = BrazeSandbox(port=port, **self.options.sandbox_options).start()
        return self.sandbox.url, SANDBOX_KEY

    def _configure_functions(self, braze_endpoint: str, braze_key: str) -> None:
        """Give the handlers the environment template.yaml gives them, pointing at local resources."""
        assert self.resources is not None
        secret_name = self.template.parameters["BrazeApiKeySecret"]
        put_secret(self.session.client("secretsmanager"), secret_name, json.dumps({"api_key": braze_key}))
        self.template.parameters["BrazeEndpoint"] = braze_endpoint
        self.template.refs.update(
            {
                "EventsQueue": self.resources.queue_url,
                "EventsDeadLetterQueue": self.resources.dead_letter_queue_url,
            }
        )
        environment: dict[str, str] = {}
        for name in self.template.of_type("AWS::Serverless::Function"):
            environment.update(self.template.function(name)["environment"])
        environment["POWERTOOLS_METRICS_DISABLED"] = "true"  # EMF lines are for CloudWatch, not a terminal
        environment.update(self.options.extra_environment)
        self._setenv(environment)
        _forget_handler_state()

    def publish(self, paths: list[Path]) -> dict[str, str | None]:
        """Validate and upload rule files (and provision the secrets they reference)."""
        from adapter.publish import publish_rules
        from mapping.source_config import parse_source_config

        assert self.resources is not None
        s3 = self.session.client("s3")
        versions = publish_rules(
            s3, self.resources.bucket, os.environ.get("BRAZE_ADAPTER_RULES_PREFIX", "rules/"), paths
        )
        self.rule_versions.update(versions)
        configs = [parse_source_config(path.read_text(), f"rules/{path.name}") for path in map(Path, paths)]
        self.signing_secrets.update(provision_webhook_secrets(self.session, configs))
        return versions

    def _start_gateway(self) -> None:
        routes = []
        for method, path, function in self.template.http_routes:
            spec = self.template.function(function)
            routes.append(Route(method, path, spec["handler"], function, spec["timeout"]))
        self.gateway = LocalGateway(routes, port=self.options.gateway_port).start()

    def _start_poller(self) -> None:
        self.pollers = [self._new_poller().start() for _ in range(max(1, self.options.pollers))]

    @property
    def poller(self) -> QueuePoller | None:
        """The first dispatch worker (the only one unless `StackOptions.pollers` says more)."""
        return self.pollers[0] if self.pollers else None

    def poll_once(self, wait: float = 0.5) -> int:
        """Dispatch one batch now (for stacks started with poll=False); returns the messages handled."""
        if not self.pollers:
            self.pollers = [self._new_poller()]
        return self.pollers[0].poll_once(wait)

    def _new_poller(self) -> QueuePoller:
        assert self.resources is not None
        name = next(n for n, _ in self.template.of_type("AWS::Serverless::Function").items() if "Dispatch" in n)
        spec = self.template.function(name)
        queue_name = self.resources.queue_url.rsplit("/", 1)[-1]
        return QueuePoller(
            self.session.client("sqs"),
            self.resources.queue_url,
            f"arn:aws:sqs:us-east-1:123456789012:{queue_name}",
            load_handler(spec["handler"]),
            function_name=name,
            timeout=self.options.dispatch_timeout or spec["timeout"],
            batch_size=self.options.batch_size,
            batching_window=self.options.batching_window,
        )

    # --- helpers for people and tests ------------------------------------------------------------

    @property
    def gateway_url(self) -> str:
        assert self.gateway is not None
        return self.gateway.url

    @property
    def braze_url(self) -> str:
        return self.sandbox.url if self.sandbox is not None else str(self.options.braze_endpoint)

    def webhook_url(self, source: str) -> str:
        return f"{self.gateway_url}/hooks/{source}"

    def queue_depths(self) -> dict[str, int]:
        """Visible + in-flight + delayed messages in the queue and its dead-letter queue."""
        assert self.resources is not None
        sqs = self.session.client("sqs")
        names = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ]
        depths = {}
        for label, url in (("queue", self.resources.queue_url), ("dead_letter", self.resources.dead_letter_queue_url)):
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
            depths[label] = sum(int(attributes.get(name, 0)) for name in names)
        return depths

    def wait_until_idle(self, timeout: float = 30.0) -> bool:
        """Wait until the queue is empty (all events dispatched or dead-lettered)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.queue_depths()["queue"] == 0:
                return True
            time.sleep(0.1)
        return False

    def _write_state(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {
            "moto_url": self.moto_url,
            "gateway_url": self.gateway_url,
            "braze_url": self.braze_url,
            "resources": self.resources.__dict__ if self.resources else {},
        }
        path.write_text(json.dumps(state, indent=2))


def read_state(path: Path | None = None) -> dict[str, Any] | None:
    """The running local stack's endpoints, if `make run` is up."""
    path = path or Path(os.environ.get("BRAZE_ADAPTER_LOCAL_STATE", STATE_FILE))
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _forget_handler_state() -> None:
    """Handlers keep their wiring while a Lambda container lives; a new stack is a new container."""
    import sys

    for module_name, attribute in (("handlers.ingress", "_receiver"), ("handlers.dispatch", "_dispatcher")):
        module = sys.modules.get(module_name)
        if module is not None:
            setattr(module, attribute, None)
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()
