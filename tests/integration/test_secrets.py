"""Secret references resolve through Powertools Parameters against a real moto server."""

import json

import pytest

from adapter.secrets import SecretError, resolve_secret

pytestmark = pytest.mark.integration


def test_secrets_manager_plain_and_json_key(aws):
    client = aws.client("secretsmanager")
    client.create_secret(Name="braze-adapter/plain", SecretString="whsec_abc")
    client.create_secret(Name="braze-adapter/braze", SecretString=json.dumps({"api_key": "k-123"}))
    assert resolve_secret("secretsmanager:braze-adapter/plain") == "whsec_abc"
    assert resolve_secret("secretsmanager:braze-adapter/braze#api_key") == "k-123"


def test_ssm_secure_string(aws):
    aws.client("ssm").put_parameter(Name="/braze-adapter/shop", Value="s3cret", Type="SecureString")
    assert resolve_secret("ssm:/braze-adapter/shop") == "s3cret"


def test_env(monkeypatch):
    monkeypatch.setenv("SHOP_SECRET", "from-env")
    assert resolve_secret("env:SHOP_SECRET") == "from-env"


def test_values_are_cached_until_max_age_or_forced(aws):
    client = aws.client("secretsmanager")
    client.create_secret(Name="rotating", SecretString="old")
    assert resolve_secret("secretsmanager:rotating", max_age=300) == "old"
    client.put_secret_value(SecretId="rotating", SecretString="new")
    assert resolve_secret("secretsmanager:rotating", max_age=300) == "old"
    assert resolve_secret("secretsmanager:rotating", max_age=300, force_fetch=True) == "new"


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("secretsmanager:missing", "cannot read secretsmanager:missing"),
        ("env:NOT_SET_ANYWHERE_42", "environment variable NOT_SET_ANYWHERE_42 is not set"),
        ("plain-value", "not a secret reference"),
    ],
)
def test_errors_never_carry_values(aws, reference, message):
    with pytest.raises(SecretError, match=message):
        resolve_secret(reference)


def test_missing_json_key(aws):
    aws.client("secretsmanager").create_secret(Name="s", SecretString=json.dumps({"other": "value-xyz"}))
    with pytest.raises(SecretError) as info:
        resolve_secret("secretsmanager:s#api_key")
    assert "no JSON key 'api_key'" in str(info.value) and "value-xyz" not in str(info.value)
