"""The CloudWatch alarms in template.yaml select metrics that exist, fire on intermittent failures,
and match the runbook (docs/operations.md).

A plain metric alarm matches only the exact dimension set it names, and Powertools adds a `service`
dimension to every metric: an alarm that leaves it out watches a metric nobody writes. So the
dimensions are checked against EMF lines printed by `adapter.observability` itself.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from adapter.local.template import StackTemplate, load_template
from adapter.observability import NAMESPACE, Metric, gauge

ROOT = Path(__file__).resolve().parents[2]
GAUGES = {Metric.HELD}  # levels without source/rule dimensions: the only ones a plain alarm can select
METRICS = {value for name, value in vars(Metric).items() if name.isupper()}
QUERY = re.compile(r"SELECT (SUM|MAX|MIN|AVG|COUNT)\((\w+)\) FROM (\w+)")


@pytest.fixture(scope="module")
def template() -> StackTemplate:
    return load_template(ROOT / "template.yaml")


def alarms(template: StackTemplate) -> dict[str, dict[str, Any]]:
    return template.of_type("AWS::CloudWatch::Alarm")


def emitted_dimensions(name: str, service: str, monkeypatch) -> dict[str, str]:
    """The dimensions of the EMF line `gauge` prints for `name` with the template's service name."""
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", service)
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        gauge(name, 1)
    emf = json.loads(out.getvalue())
    [directive] = emf["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == NAMESPACE
    [dimensions] = directive["Dimensions"]
    return {key: emf[key] for key in dimensions}


def alarm_problems(template: StackTemplate, monkeypatch) -> list[str]:
    """Every alarm on our namespace that would select no metric (empty: none)."""
    environment = template.globals["Function"]["Environment"]["Variables"]
    namespace, service = environment["POWERTOOLS_METRICS_NAMESPACE"], environment["POWERTOOLS_SERVICE_NAME"]
    problems = [] if namespace == NAMESPACE else [f"template namespace {namespace} is not {NAMESPACE}"]
    for name, alarm in alarms(template).items():
        for query in alarm.get("Metrics", []):
            if "Expression" not in query:
                continue
            match = QUERY.fullmatch(query["Expression"])
            # `FROM namespace` (not SCHEMA(...)) sums every dimension set, `service` included.
            if not match or match[3] != namespace or match[2] not in METRICS:
                problems.append(f"{name}: {query['Expression']!r} selects none of our metrics")
        if alarm.get("Namespace") == namespace:
            metric = alarm["MetricName"]
            if metric not in GAUGES:
                problems.append(f"{name}: {metric} has per-source dimensions; sum it with Metrics Insights")
                continue
            named = {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}
            expected = emitted_dimensions(metric, service, monkeypatch)
            if named != expected:
                problems.append(f"{name}: dimensions {named} but Powertools writes {metric} with {expected}")
    return problems


def test_every_alarm_on_our_metrics_selects_what_powertools_emits(template, monkeypatch):
    assert alarm_problems(template, monkeypatch) == []


def test_the_check_catches_an_alarm_that_misses_the_service_dimension(template, monkeypatch):
    doctored = copy.deepcopy(template)
    doctored.resources["UnknownSendsAlarm"]["Properties"]["Dimensions"] = []
    doctored.resources["FailedSendsAlarm"]["Properties"]["Metrics"][0]["Expression"] = (
        "SELECT SUM(SendsFailed) FROM SCHEMA(BrazeWebhookAdapter, source, rule)"
    )
    problems = alarm_problems(doctored, monkeypatch)
    assert any(p.startswith("UnknownSendsAlarm: dimensions {}") for p in problems), problems
    assert any(p.startswith("FailedSendsAlarm:") for p in problems), problems


def test_every_failure_metric_has_an_alarm(template):
    watched = set()
    for alarm in alarms(template).values():
        watched.add(alarm.get("MetricName"))
        watched.update(QUERY.fullmatch(q["Expression"])[2] for q in alarm.get("Metrics", []) if "Expression" in q)
    failures = {Metric.HELD, Metric.FAILED, Metric.MAPPING_ERRORS, Metric.RULES_REJECTED, Metric.SIGNATURE_FAILURES}
    assert failures - watched == set()


def test_every_declared_metric_is_emitted():
    code = "\n".join(path.read_text() for path in (ROOT / "src").rglob("*.py") if path.name != "observability.py")
    attributes = {name for name in vars(Metric) if name.isupper()}
    assert {name for name in attributes if not re.search(rf"\bMetric\.{name}\b", code)} == set()


def test_unknown_sends_alarm_stays_in_alarm_while_sends_are_held(template):
    alarm = alarms(template)["UnknownSendsAlarm"]
    assert (alarm["MetricName"], alarm["Statistic"], alarm["Threshold"]) == (Metric.HELD, "Maximum", 0)
    # Dispatch publishes the gauge only while it runs: a silent minute must not clear the alarm.
    assert alarm["TreatMissingData"] == "ignore"


def _function_of(alarm: dict[str, Any]) -> str | None:
    for dimension in alarm.get("Dimensions", []):
        if dimension["Name"] == "FunctionName":
            return dimension["Value"]["Ref"]
    return None


def test_each_function_has_its_own_errors_and_throttles_alarm_that_names_it(template):
    found: dict[tuple[str, str], str] = {}
    for name, alarm in alarms(template).items():
        function = _function_of(alarm)
        if function:
            assert (function, alarm["MetricName"]) not in found, name
            found[function, alarm["MetricName"]] = name
            own, other = ("ingress", "dispatch") if function == "IngressFunction" else ("dispatch", "ingress")
            description = alarm["AlarmDescription"].lower()
            assert own in description and other not in description, (name, description)
    assert set(found) == {(f, m) for f in ("IngressFunction", "DispatchFunction") for m in ("Errors", "Throttles")}


def test_lambda_alarms_fire_without_a_failure_in_every_minute(template):
    for name, alarm in alarms(template).items():
        if alarm.get("Namespace") != "AWS/Lambda":
            continue
        needed = alarm.get("DatapointsToAlarm", alarm["EvaluationPeriods"])
        # Never "a failure in each of N minutes": an intermittent failure must alarm too.
        assert needed == 1 or needed < alarm["EvaluationPeriods"], name
        assert alarm["Period"] * alarm["EvaluationPeriods"] <= 300, name  # a 5-minute window at most
        if alarm["MetricName"] == "Errors":  # never expected: one is enough
            assert (alarm["EvaluationPeriods"], needed) == (1, 1), name


def test_metrics_insights_alarms_evaluate_at_most_three_hours(template):
    # CloudWatch rejects Metrics Insights alarms that look further back than 3 hours.
    for name, alarm in alarms(template).items():
        for query in alarm.get("Metrics", []):
            assert query["Period"] % 60 == 0 and query["Period"] * alarm["EvaluationPeriods"] <= 3 * 3600, name


def test_the_runbook_lists_every_alarm_and_metric(template):
    runbook = (ROOT / "docs" / "operations.md").read_text()
    alarms_section = runbook.split("## Alarms", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `(\w+Alarm)` \|", alarms_section, re.MULTILINE))
    assert listed == set(alarms(template))
    assert f"declares {len(listed)} CloudWatch alarms" in alarms_section
    metrics_section = runbook.split("## Logs and metrics", 1)[1].split("\n## ", 1)[0]
    assert set(re.findall(r"^\| `(\w+)` \|", metrics_section, re.MULTILINE)) == METRICS
