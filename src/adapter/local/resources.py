"""Create the template's bucket, queues and table in a moto server (the local stack's AWS)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapter.local.template import StackTemplate, load_template

__all__ = ["LocalResources", "create_resources"]

TEMPLATE = Path(__file__).resolve().parents[3] / "template.yaml"


@dataclass(frozen=True)
class LocalResources:
    """Names of what `create_resources` made, keyed the way the settings need them."""

    bucket: str
    table: str
    queue_url: str
    dead_letter_queue_url: str

    def environment(self) -> dict[str, str]:
        """The `BRAZE_ADAPTER_*` variables that point the handlers at these resources."""
        return {
            "BRAZE_ADAPTER_RULES_BUCKET": self.bucket,
            "BRAZE_ADAPTER_LEDGER_TABLE": self.table,
            "BRAZE_ADAPTER_QUEUE_URL": self.queue_url,
            "BRAZE_ADAPTER_DEAD_LETTER_QUEUE_URL": self.dead_letter_queue_url,
        }


def create_resources(session: Any, template: StackTemplate | None = None) -> LocalResources:
    """Create every S3 bucket, SQS queue and DynamoDB table of template.yaml (idempotent)."""
    template = template or load_template(TEMPLATE)
    s3, sqs, dynamodb = session.client("s3"), session.client("sqs"), session.client("dynamodb")
    buckets = [template.physical_name(name) for name in template.of_type("AWS::S3::Bucket")]
    for name, properties in template.of_type("AWS::S3::Bucket").items():
        bucket = template.physical_name(name)
        s3.create_bucket(Bucket=bucket)
        if properties.get("VersioningConfiguration", {}).get("Status") == "Enabled":
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})

    queues: dict[str, str] = {}
    # Dead-letter queues first: the main queue's redrive policy points at them.
    ordered = sorted(template.of_type("AWS::SQS::Queue").items(), key=lambda kv: "RedrivePolicy" in kv[1])
    for name, properties in ordered:
        attributes = {
            key: str(template.resolve(properties[key]))
            for key in ("VisibilityTimeout", "MessageRetentionPeriod")
            if key in properties
        }
        if "RedrivePolicy" in properties:
            attributes["RedrivePolicy"] = json.dumps(template.resolve(properties["RedrivePolicy"]))
        queues[name] = sqs.create_queue(QueueName=template.physical_name(name), Attributes=attributes)["QueueUrl"]

    tables = []
    for name, properties in template.of_type("AWS::DynamoDB::Table").items():
        table = template.physical_name(name)
        tables.append(table)
        if table in dynamodb.list_tables()["TableNames"]:
            continue
        kwargs = {
            key: properties[key] for key in ("AttributeDefinitions", "KeySchema", "BillingMode") if key in properties
        }
        if "GlobalSecondaryIndexes" in properties:
            kwargs["GlobalSecondaryIndexes"] = properties["GlobalSecondaryIndexes"]
        dynamodb.create_table(TableName=table, **kwargs)
        ttl = properties.get("TimeToLiveSpecification")
        if ttl:
            dynamodb.update_time_to_live(TableName=table, TimeToLiveSpecification=ttl)

    main = next(name for name, props in template.of_type("AWS::SQS::Queue").items() if "RedrivePolicy" in props)
    dead = next(name for name in queues if name != main)
    return LocalResources(
        bucket=buckets[0], table=tables[0], queue_url=queues[main], dead_letter_queue_url=queues[dead]
    )
