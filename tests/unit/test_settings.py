import pytest

from adapter.settings import DispatchSettings, IngressSettings, SettingsError, load_settings


def test_defaults_without_environment():
    settings = load_settings(DispatchSettings, {})
    assert settings.ledger_table == "braze-adapter-ledger" and settings.read_timeout == 10.0
    assert settings.braze_endpoint is None


def test_values_are_typed_from_prefixed_variables():
    settings = load_settings(
        DispatchSettings,
        {
            "BRAZE_ADAPTER_LEDGER_TABLE": "t",
            "BRAZE_ADAPTER_READ_TIMEOUT": "2.5",
            "BRAZE_ADAPTER_MAX_RECEIVE_COUNT": "5",
            "BRAZE_ADAPTER_BRAZE_ENDPOINT": "https://rest.iad-01.braze.com",
            "OTHER": "ignored",
        },
    )
    assert (settings.ledger_table, settings.read_timeout, settings.max_receive_count) == ("t", 2.5, 5)
    assert settings.braze_endpoint == "https://rest.iad-01.braze.com"


def test_every_bad_value_is_reported():
    with pytest.raises(SettingsError) as info:
        load_settings(IngressSettings, {"BRAZE_ADAPTER_MAX_BODY_BYTES": "lots", "BRAZE_ADAPTER_DEDUP_TTL_DAYS": "0"})
    message = str(info.value)
    assert "BRAZE_ADAPTER_MAX_BODY_BYTES='lots': expected int" in message
    assert "BRAZE_ADAPTER_DEDUP_TTL_DAYS='0': must be greater than 0" in message


def test_empty_optional_means_none():
    assert load_settings(IngressSettings, {"BRAZE_ADAPTER_PUBLIC_BASE_URL": ""}).public_base_url is None


def test_settings_are_frozen():
    settings = load_settings(IngressSettings, {})
    with pytest.raises(AttributeError):
        settings.max_body_bytes = 5
