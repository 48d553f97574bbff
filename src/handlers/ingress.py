"""Ingress Lambda: `POST /hooks/{source}` (HTTP API, payload 2.0).

Verifies the webhook, archives it, queues it once and answers 202 `{"event_id": ...}`.
It never imports the mapping engine or the Braze client: it has to answer providers fast.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response

from adapter.ingress import Receiver, build_receiver
from adapter.observability import logger, route_library_logs
from adapter.settings import IngressSettings, load_settings

route_library_logs()
app = APIGatewayHttpResolver()
_receiver: Receiver | None = None


def receiver() -> Receiver:
    global _receiver
    if _receiver is None:  # built on the first request, reused while the container lives
        _receiver = build_receiver(load_settings(IngressSettings))
    return _receiver


@app.post("/hooks/<source>")
def receive_webhook(source: str) -> Response:
    result = receiver().receive(source, app.current_event.raw_event)
    return Response(status_code=result.status, content_type=result.content_type, body=result.payload())


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    receiver().accept_once.register(context)
    return app.resolve(event, context)
