"""Least privilege in template.yaml, and the data stores' protection settings.

The template is read with the local stack's loader (src/adapter/local/template.py: CloudFormation
short-form tags, Sub/Ref/GetAtt resolved the way the stack names things, parameters at their
defaults). Each function's permissions are its inline `Policies` plus what SAM attaches on its own:

* AWSLambdaBasicExecutionRole, always (logs:CreateLogGroup/CreateLogStream/PutLogEvents on "*");
* AWSLambdaSQSQueueExecutionRole for an SQS event (sqs:ReceiveMessage/DeleteMessage/
  GetQueueAttributes on "*", https://github.com/aws/serverless-application-model/issues/2118);
* AWSXrayWriteOnlyAccess when tracing is on (xray:* writes and sampling reads on "*").

Every Allow statement: no `*` in an action; `Resource: "*"` only for actions AWS documents as
having no resource-level permissions, or for SAM's two managed roles above (accepted explicitly
below, the queue one only because a Deny narrows it); every other resource a template resource or
an ARN under a named, non-empty prefix. Then a small evaluator (Allow and Deny, `*`/`?` wildcards,
NotResource) checks what each function can and cannot do on the real ARNs.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from adapter.local.template import StackTemplate, load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"

# AWS documents these as not supporting resource-level permissions: "*" is the only possible resource.
NO_RESOURCE_LEVEL = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:GetSamplingStatisticSummaries",
    "cloudwatch:PutMetricData",
}
SAM_BASIC = {
    "Sid": "SAM:AWSLambdaBasicExecutionRole",
    "Effect": "Allow",
    "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
    "Resource": "*",
}
SAM_SQS = {
    "Sid": "SAM:AWSLambdaSQSQueueExecutionRole",
    "Effect": "Allow",
    "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
    "Resource": "*",
}
SAM_XRAY = {
    "Sid": "SAM:AWSXrayWriteOnlyAccess",
    "Effect": "Allow",
    "Action": sorted(NO_RESOURCE_LEVEL - {"cloudwatch:PutMetricData"}),
    "Resource": "*",
}
# SAM's managed roles grant "*"; accepted here, each for a stated reason.
ACCEPTED_SAM_WILDCARDS = {
    SAM_BASIC["Sid"]: "AWS's basic execution role; the function's log group does not exist before its first run",
    SAM_SQS["Sid"]: "cannot be detached from an SQS event; narrowed by a Deny on every other queue (checked)",
}

ACCOUNT, REGION = "123456789012", "us-east-1"


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(template: StackTemplate, function: str) -> list[dict[str, Any]]:
    """The function's effective policy statements, intrinsics resolved, SAM's implicit ones added."""
    properties = template.resources[function]["Properties"]
    statements = [SAM_BASIC]
    for policy in _list(properties.get("Policies", [])):
        if not isinstance(policy, dict) or "Statement" not in policy:
            raise AssertionError(f"{function}: only inline statements are reviewed here, not {policy!r}")
        statements += [template.resolve(statement) for statement in policy["Statement"]]
    if any(event.get("Type") == "SQS" for event in (properties.get("Events") or {}).values()):
        statements.append(SAM_SQS)
    tracing = properties.get("Tracing", template.globals.get("Function", {}).get("Tracing"))
    if "Active" in repr(tracing):  # `Active`, or an !If that can choose it
        statements.append(SAM_XRAY)
    return statements


def _functions(template: StackTemplate) -> list[str]:
    return sorted(template.of_type("AWS::Serverless::Function"))


def _own_arns(template: StackTemplate) -> list[str]:
    arns = []
    for name, spec in template.resources.items():
        if spec["Type"] in ("AWS::S3::Bucket", "AWS::SQS::Queue", "AWS::DynamoDB::Table"):
            arns.append(template.resolve({"Fn::GetAtt": [name, "Arn"]}))
    return arns


def policy_problems(template: StackTemplate) -> list[str]:
    """Every way a function's Allow statements exceed least privilege (empty: none)."""
    problems = []
    own = _own_arns(template)
    prefixes = [
        f"arn:aws:{service}:{REGION}:{ACCOUNT}:{kind}"
        for service, kind in (("secretsmanager", "secret:"), ("ssm", "parameter/"))
    ]
    for function in _functions(template):
        statements = _statements(template, function)
        for statement in statements:
            if statement.get("Effect") != "Allow":
                continue
            where = f"{function} {statement.get('Sid', '?')}"
            actions = _list(statement.get("Action", []))
            if "NotAction" in statement or "NotResource" in statement:
                problems.append(f"{where}: Allow with NotAction/NotResource")
            for action in actions:
                if "*" in action:
                    problems.append(f"{where}: wildcard action {action}")
            for resource in _list(statement.get("Resource", [])):
                if not isinstance(resource, str):
                    problems.append(f"{where}: unresolved resource {resource!r}")
                elif resource == "*":
                    if statement.get("Sid") in ACCEPTED_SAM_WILDCARDS or set(actions) <= NO_RESOURCE_LEVEL:
                        continue
                    problems.append(f"{where}: Resource * for {actions}")
                elif not any(resource == arn or resource.startswith(arn + "/") for arn in own):
                    under = [p for p in prefixes if resource.startswith(p)]
                    named = under and resource[len(under[0]) :].split("*")[0].strip("/")
                    if not named:
                        problems.append(f"{where}: {resource} is neither a template resource nor under a named prefix")
        if SAM_SQS in statements and not _denies_other_queues(statements, template):
            problems.append(f"{function}: SAM's SQS policy lets it receive from and delete in every queue")
    return problems


def _denies_other_queues(statements: list[dict[str, Any]], template: StackTemplate) -> bool:
    other = f"arn:aws:sqs:{REGION}:{ACCOUNT}:someone-elses-queue"
    return not any(allowed(statements, action, other) for action in SAM_SQS["Action"])


def _matches(pattern: str, value: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value) is not None


def _applies(statement: dict[str, Any], action: str, resource: str) -> bool:
    if not any(_matches(a, action) for a in _list(statement.get("Action", []))):
        return False
    if "NotResource" in statement:
        return not any(_matches(r, resource) for r in _list(statement["NotResource"]))
    return any(_matches(r, resource) for r in _list(statement.get("Resource", [])))


def allowed(statements: list[dict[str, Any]], action: str, resource: str) -> bool:
    """IAM's evaluation for one identity policy: an explicit Deny wins, else any Allow."""
    applicable = [s for s in statements if _applies(s, action, resource)]
    return any(s["Effect"] == "Allow" for s in applicable) and not any(s["Effect"] == "Deny" for s in applicable)


@pytest.fixture(scope="module")
def template() -> StackTemplate:
    return load_template(TEMPLATE)


def test_every_function_is_reviewed(template):
    assert _functions(template) == ["DispatchFunction", "IngressFunction"]
    assert not template.of_type("AWS::IAM::Role") and not template.of_type("AWS::IAM::Policy")
    assert not template.of_type("AWS::IAM::ManagedPolicy")
    for function in _functions(template):
        assert "Role" not in template.resources[function]["Properties"]  # SAM builds each role from Policies


def test_every_allow_statement_is_least_privilege(template):
    assert policy_problems(template) == []


def test_the_review_catches_broad_grants(template):
    """The same review on doctored copies: each broadening is reported."""

    def with_statement(statement: dict[str, Any]) -> StackTemplate:
        doctored = copy.deepcopy(template)
        doctored.resources["IngressFunction"]["Properties"]["Policies"][0]["Statement"].append(statement)
        return doctored

    every_secret = "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:*"
    broad = [
        {"Sid": "A", "Effect": "Allow", "Action": "s3:*", "Resource": {"Fn::Sub": "${RulesBucket.Arn}/*"}},
        {"Sid": "B", "Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Sid": "C", "Effect": "Allow", "Action": "dynamodb:Query", "Resource": "*"},
        {
            "Sid": "D",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": {"Fn::Sub": every_secret},
        },
        {"Sid": "E", "Effect": "Allow", "Action": "sqs:SendMessage", "NotResource": "arn:aws:sqs:us-east-1:1:x"},
    ]
    for statement in broad:
        problems = policy_problems(with_statement(statement))
        assert any(f"IngressFunction {statement['Sid']}:" in p for p in problems), statement
    doctored = copy.deepcopy(template)
    dispatch = doctored.resources["DispatchFunction"]["Properties"]["Policies"][0]["Statement"]
    dispatch[:] = [s for s in dispatch if s.get("Effect") != "Deny"]
    assert "DispatchFunction: SAM's SQS policy lets it receive from and delete in every queue" in policy_problems(
        doctored
    )
    assert allowed([SAM_XRAY], "xray:PutTraceSegments", "*")  # tracing's grants are recognised too


def test_secret_name_parameters_cannot_be_empty(template):
    """`secret:${WebhookSecretsPrefix}*` with an empty prefix would be `secret:*`: every secret."""
    from cfnlint.decode import cfn_yaml

    parameters = cfn_yaml.load(str(TEMPLATE))["Parameters"]
    for name in ("WebhookSecretsPrefix", "BrazeApiKeySecret"):
        pattern = parameters[name].get("AllowedPattern")
        assert pattern and not re.fullmatch(pattern, "") and re.fullmatch(pattern, parameters[name]["Default"])
        assert not re.fullmatch(pattern, "*") and not re.fullmatch(pattern, "arn:aws:secretsmanager:x")


def _arns(template: StackTemplate) -> dict[str, str]:
    arn = {name: template.resolve({"Fn::GetAtt": [name, "Arn"]}) for name in ("RulesBucket", "EventsQueue")}
    secret = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:"
    return {
        "rules": arn["RulesBucket"] + "/rules/stripe.yaml",
        "archive": arn["RulesBucket"] + "/archive/stripe/2026-01-01/evt_1.json",
        "bucket": arn["RulesBucket"],
        "queue": arn["EventsQueue"],
        "dlq": template.resolve({"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]}),
        "other queue": f"arn:aws:sqs:{REGION}:{ACCOUNT}:someone-elses-queue",
        "table": template.resolve({"Fn::GetAtt": ["LedgerTable", "Arn"]}),
        "attention index": template.resolve({"Fn::GetAtt": ["LedgerTable", "Arn"]}) + "/index/attention-index",
        "signing secret": secret + template.parameters["WebhookSecretsPrefix"] + "stripe-AbCdEf",
        "braze key": secret + template.parameters["BrazeApiKeySecret"] + "-Zx81Qa",
        "other secret": secret + "prod/database-Qw12Er",
        "parameter": f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/braze-adapter/stripe",
    }


INGRESS_CAN = [
    ("s3:GetObject", "rules"),
    ("s3:ListBucket", "bucket"),
    ("s3:ListBucketVersions", "bucket"),  # an invalid newest rule file: the rule store looks back
    ("s3:GetObjectVersion", "rules"),
    ("s3:PutObject", "archive"),
    ("sqs:SendMessage", "queue"),
    ("dynamodb:PutItem", "table"),
    ("dynamodb:DeleteItem", "table"),  # a failed acceptance is forgotten, so the provider's retry is taken
    ("secretsmanager:GetSecretValue", "signing secret"),
    ("ssm:GetParameter", "parameter"),
]
INGRESS_CANNOT = [
    ("secretsmanager:GetSecretValue", "braze key"),
    ("secretsmanager:GetSecretValue", "other secret"),
    ("sqs:ReceiveMessage", "queue"),
    ("sqs:DeleteMessage", "queue"),
    ("sqs:SendMessage", "dlq"),
    ("s3:PutObject", "rules"),  # cannot publish rules
    ("s3:GetObject", "archive"),  # cannot read back what it archived
    ("s3:GetObjectVersion", "archive"),
    ("s3:DeleteObject", "archive"),
    ("dynamodb:Scan", "table"),
    ("dynamodb:Query", "table"),
    ("dynamodb:Query", "attention index"),
]
DISPATCH_CAN = [
    ("s3:GetObject", "rules"),
    ("s3:GetObject", "archive"),
    ("s3:ListBucketVersions", "bucket"),  # an invalid newest rule file: the rule store looks back
    ("s3:GetObjectVersion", "rules"),
    ("dynamodb:Query", "attention index"),  # the SendsHeld gauge
    ("sqs:ReceiveMessage", "queue"),
    ("sqs:DeleteMessage", "queue"),
    ("sqs:ChangeMessageVisibility", "queue"),
    ("sqs:SendMessage", "dlq"),
    ("dynamodb:UpdateItem", "table"),
    ("secretsmanager:GetSecretValue", "braze key"),
]
DISPATCH_CANNOT = [
    ("sqs:ReceiveMessage", "other queue"),
    ("sqs:DeleteMessage", "other queue"),
    ("sqs:DeleteMessage", "dlq"),
    ("sqs:ReceiveMessage", "dlq"),
    ("s3:PutObject", "rules"),
    ("s3:PutObject", "archive"),
    ("s3:DeleteObject", "archive"),
    ("s3:GetObjectVersion", "archive"),
    ("dynamodb:Query", "table"),  # the index holds only held and failed sends; the table holds everything
    ("dynamodb:Scan", "table"),
    ("secretsmanager:GetSecretValue", "other secret"),
]


@pytest.mark.parametrize(
    ("function", "action", "target", "expected"),
    [("IngressFunction", a, t, True) for a, t in INGRESS_CAN]
    + [("IngressFunction", a, t, False) for a, t in INGRESS_CANNOT]
    + [("DispatchFunction", a, t, True) for a, t in DISPATCH_CAN]
    + [("DispatchFunction", a, t, False) for a, t in DISPATCH_CANNOT],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_what_each_function_can_and_cannot_do(template, function, action, target, expected):
    assert allowed(_statements(template, function), action, _arns(template)[target]) is expected


# --- the data stores -----------------------------------------------------------------------------


def test_the_bucket_blocks_public_access_and_is_encrypted(template):
    for name, bucket in template.of_type("AWS::S3::Bucket").items():
        block = bucket["PublicAccessBlockConfiguration"]
        flags = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
        assert all(block.get(flag) is True for flag in flags), name
        [rule] = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms", "aws:kms:dsse"), name
    assert not template.of_type("AWS::S3::BucketPolicy")  # nothing grants access around the functions' roles


def test_the_ledger_has_point_in_time_recovery_and_encryption(template):
    for name, table in template.of_type("AWS::DynamoDB::Table").items():
        assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True, name
        assert table["SSESpecification"]["SSEEnabled"] is True, name


def test_the_queues_are_encrypted(template):
    for name, queue in template.of_type("AWS::SQS::Queue").items():
        assert queue.get("SqsManagedSseEnabled") is True or queue.get("KmsMasterKeyId"), name
    assert not template.of_type("AWS::SQS::QueuePolicy")
