"""The local stack's moto patch keeps TransactWriteItems all-or-nothing."""

import pytest

pytestmark = pytest.mark.integration


def test_cancelled_transaction_leaves_every_item_as_it_was(resources, aws):
    client = aws.client("dynamodb")
    table = resources.table
    client.put_item(TableName=table, Item={"pk": {"S": "existing"}, "v": {"N": "1"}})
    client.put_item(TableName=table, Item={"pk": {"S": "blocker"}, "v": {"N": "1"}})
    with pytest.raises(client.exceptions.TransactionCanceledException):
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"pk": {"S": "new"}}}},
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"pk": {"S": "existing"}},
                        "UpdateExpression": "SET v = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}},
                    }
                },
                {"Delete": {"TableName": table, "Key": {"pk": {"S": "gone"}}}},
                {
                    "Put": {
                        "TableName": table,
                        "Item": {"pk": {"S": "blocker"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )
    items = {i["pk"]["S"]: i for i in client.scan(TableName=table)["Items"]}
    assert set(items) == {"existing", "blocker"}
    assert items["existing"]["v"] == {"N": "1"}


def test_successful_transaction_writes_everything(resources, aws):
    client = aws.client("dynamodb")
    client.transact_write_items(
        TransactItems=[{"Put": {"TableName": resources.table, "Item": {"pk": {"S": f"k{i}"}}}} for i in range(60)]
    )
    assert client.scan(TableName=resources.table)["Count"] == 60
