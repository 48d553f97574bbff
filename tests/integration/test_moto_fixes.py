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


def test_concurrent_sends_and_deletes_lose_no_message(resources, aws):
    """moto rebuilt a queue's message list on delete without its lock, so a message sent meanwhile
    vanished: the local stack lost accepted webhooks under load (found by the chaos run)."""
    import sys
    import threading

    sqs = aws.client("sqs")
    url = resources.queue_url
    sent, received = set(), set()
    sending_done = threading.Event()

    def send(worker: int) -> None:
        for number in range(150):
            body = f"{worker}-{number}"
            sqs.send_message(QueueUrl=url, MessageBody=body)
            sent.add(body)

    def drain() -> None:
        while True:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages and sending_done.is_set():
                return
            for message in messages:
                received.add(message["Body"])
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often, as a busy machine does
    try:
        drainers = [threading.Thread(target=drain) for _ in range(2)]
        senders = [threading.Thread(target=send, args=(worker,)) for worker in range(4)]
        for thread in drainers + senders:
            thread.start()
        for thread in senders:
            thread.join()
        sending_done.set()
        for thread in drainers:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert sent - received == set()
