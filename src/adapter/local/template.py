"""Read template.yaml the way CloudFormation would name things, so the local stack creates the
same bucket, queues and table the deployed stack has (one list of resources: the template)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = ["LOCAL_ACCOUNT", "LOCAL_REGION", "LOCAL_STACK", "StackTemplate", "load_template"]

LOCAL_STACK = "braze-adapter"
LOCAL_ACCOUNT = "123456789012"  # moto's default account
LOCAL_REGION = "us-east-1"
_SUB = re.compile(r"\$\{([^}]+)\}")


class _CfnLoader(yaml.SafeLoader):
    """Turns `!Sub x` into `{"Fn::Sub": x}`, `!Ref x` into `{"Ref": x}`, and so on."""


def _intrinsic(loader: yaml.Loader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


@dataclass
class StackTemplate:
    resources: dict[str, dict[str, Any]]
    parameters: dict[str, Any] = field(default_factory=dict)  # name -> value (defaults, then overrides)
    globals: dict[str, Any] = field(default_factory=dict)
    stack: str = LOCAL_STACK
    account: str = LOCAL_ACCOUNT
    region: str = LOCAL_REGION
    http_routes: list[tuple[str, str, str]] = field(default_factory=list)  # (method, path, function)
    refs: dict[str, str] = field(default_factory=dict)  # logical id -> what Ref returns (queue URLs)

    def function(self, logical: str) -> dict[str, Any]:
        """A function's handler, timeout and environment, with Globals applied and intrinsics resolved."""
        defaults = self.globals.get("Function", {})
        properties = self.resources[logical].get("Properties", {})
        environment = {
            **defaults.get("Environment", {}).get("Variables", {}),
            **properties.get("Environment", {}).get("Variables", {}),
        }
        return {
            "handler": properties["Handler"],
            "timeout": float(properties.get("Timeout", defaults.get("Timeout", 3))),
            "environment": {name: str(self.resolve(value)) for name, value in environment.items()},
            "events": properties.get("Events", {}),
        }

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {name: spec.get("Properties", {}) for name, spec in self.resources.items() if spec["Type"] == kind}

    def resolve(self, value: Any) -> Any:
        """Resolve the intrinsics the resource properties use (Sub, Ref, GetAtt ... .Arn)."""
        if isinstance(value, dict) and len(value) == 1:
            ((name, argument),) = value.items()
            if name == "Fn::Sub":
                return _SUB.sub(lambda m: str(self._variable(m.group(1))), argument)
            if name == "Ref":
                return self._variable(argument)
            if name == "Fn::GetAtt":
                return self._attribute(*argument)
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    def physical_name(self, logical: str) -> str:
        spec = self.resources[logical]
        properties = spec.get("Properties", {})
        for key in ("BucketName", "QueueName", "TableName", "Name"):
            if key in properties:
                return self.resolve(properties[key])
        return f"{self.stack}-{logical}"

    def _variable(self, name: str) -> Any:
        pseudo = {
            "AWS::StackName": self.stack,
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.refs:
            return self.refs[name]
        if "." in name:
            return self._attribute(*name.split(".", 1))
        return self.physical_name(name)

    def _attribute(self, logical: str, attribute: str) -> str:
        name = self.physical_name(logical)
        kind = self.resources[logical]["Type"]
        if attribute == "Arn" and kind == "AWS::SQS::Queue":
            return f"arn:aws:sqs:{self.region}:{self.account}:{name}"
        if attribute == "Arn" and kind == "AWS::DynamoDB::Table":
            return f"arn:aws:dynamodb:{self.region}:{self.account}:table/{name}"
        if attribute == "Arn" and kind == "AWS::S3::Bucket":
            return f"arn:aws:s3:::{name}"
        return name


def load_template(path: str | Path) -> StackTemplate:
    """Parse template.yaml (CloudFormation tags included) and list its HttpApi routes."""
    document = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_CfnLoader)  # noqa: S506
    template = StackTemplate(
        resources=document.get("Resources", {}),
        parameters={name: spec.get("Default") for name, spec in (document.get("Parameters") or {}).items()},
        globals=document.get("Globals") or {},
    )
    for name, spec in template.resources.items():
        if spec["Type"] != "AWS::Serverless::Function":
            continue
        for event in (spec.get("Properties", {}).get("Events") or {}).values():
            if event.get("Type") == "HttpApi":
                properties = event.get("Properties", {})
                template.http_routes.append((properties.get("Method", "ANY").upper(), properties["Path"], name))
    return template
