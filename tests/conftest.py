"""Shared fixtures: a real moto server on 127.0.0.1 and the Braze sandbox, both over HTTP."""

from __future__ import annotations

import logging

import boto3
import pytest
import requests

from adapter.local.moto_fixes import patch_moto
from adapter.local.resources import LocalResources, create_resources
from braze.sandbox import BrazeSandbox

SANDBOX_KEY = "sandbox-key"


@pytest.fixture(scope="session")
def moto_endpoint():
    from moto.server import ThreadedMotoServer

    patch_moto()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws(moto_endpoint, monkeypatch):
    """A boto3 session whose clients all talk to the moto server; state is wiped afterwards."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    for name in ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()
    yield boto3.Session(region_name="us-east-1")
    parameters.clear_caches()
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10)


@pytest.fixture
def resources(aws) -> LocalResources:
    """The template's bucket, queues and table, created in moto."""
    return create_resources(aws)


@pytest.fixture
def sandbox():
    server = BrazeSandbox(seed=7).start()
    yield server
    server.stop()
