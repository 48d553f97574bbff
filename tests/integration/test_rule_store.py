"""The rule store against a real moto server: a container that starts after a bad rule file was
uploaded falls back on the newest good version in the versioned bucket."""

from __future__ import annotations

import pytest

from mapping.exceptions import RuleFileError
from mapping.ruleset import parse_ruleset
from mapping.store import HISTORY, RuleStore

pytestmark = pytest.mark.integration

KEY = "rules/shop.yaml"


def rule_file(rule_id, preset="none"):
    return (
        f"version: 1\nsource: shop\nverify: {{preset: {preset}}}\nrules:\n"
        f"  - id: {rule_id}\n"
        '    campaign: {campaign_id: c1, recipient: {external_user_id: "{% user %}"}}\n'
    )


def bad_file(n):
    return rule_file(f"bad{n}", preset=f"no-such-preset-{n}")


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture
def s3(aws, resources):
    return aws.client("s3")


def publish(s3, bucket, text, key=KEY):
    return s3.put_object(Bucket=bucket, Key=key, Body=text.encode())["VersionId"]


def cold_store(s3, bucket, rejected, clock=None):
    """A RuleStore as a container that has just started builds it (same parse as dispatch)."""
    return RuleStore(
        s3,
        bucket,
        lambda text, name, version: parse_ruleset(text, name, version=version, check_files=False),
        on_invalid=lambda source, error: rejected.append((source, error)),
        clock=clock or Clock(),
    )


def test_a_cold_store_serves_the_newest_good_version_when_the_current_one_is_invalid(s3, resources):
    bucket = resources.bucket
    publish(s3, bucket, rule_file("first"))
    good = publish(s3, bucket, rule_file("second"))
    publish(s3, bucket, bad_file(1))
    rejected, clock = [], Clock()
    store = cold_store(s3, bucket, rejected, clock)

    ruleset = store.get("shop")
    assert (ruleset.version, [rule.id for rule in ruleset.rules]) == (good, ["second"])
    assert [source for source, _ in rejected] == ["shop"]  # logged and counted like a warm container
    assert "no-such-preset-1" in str(rejected[0][1])

    clock.now += 10  # past max_age: the invalid file's ETag is unchanged, so nothing is re-read or re-counted
    assert store.get("shop") is ruleset
    assert len(rejected) == 1

    fixed = publish(s3, bucket, rule_file("third"))
    clock.now += 10
    assert store.get("shop").version == fixed


def test_a_cold_store_with_no_good_version_raises_the_current_files_problems(s3, resources):
    publish(s3, resources.bucket, bad_file(1))
    publish(s3, resources.bucket, bad_file(2))
    rejected = []
    with pytest.raises(RuleFileError) as info:
        cold_store(s3, resources.bucket, rejected).get("shop")
    with pytest.raises(RuleFileError) as today:
        parse_ruleset(bad_file(2), KEY, check_files=False)
    assert str(info.value) == str(today.value)
    assert [source for source, _ in rejected] == ["shop"]


@pytest.mark.parametrize(("bad_versions", "served"), [(HISTORY - 1, True), (HISTORY, False)])
def test_the_look_back_covers_the_last_history_versions(s3, resources, bad_versions, served):
    publish(s3, resources.bucket, rule_file("good"))
    for n in range(bad_versions):
        publish(s3, resources.bucket, bad_file(n))
    store = cold_store(s3, resources.bucket, [])
    if served:
        assert [rule.id for rule in store.get("shop").rules] == ["good"]
    else:
        with pytest.raises(RuleFileError, match=f"no-such-preset-{bad_versions - 1}"):
            store.get("shop")


def test_a_longer_key_with_the_same_prefix_is_not_an_earlier_version(s3, resources):
    publish(s3, resources.bucket, rule_file("backup"), key=KEY + ".bak")
    publish(s3, resources.bucket, bad_file(1))
    with pytest.raises(RuleFileError):
        cold_store(s3, resources.bucket, []).get("shop")
