"""Checks scripts/moto_server.py's TransactWriteItems against a running server, with boto3.

Usage: python3 scripts/moto_server_check.py ENDPOINT [TRANSACTIONS]

A failed transaction must leave the table as it was: the item it updated keeps its old
attributes, the items it put do not exist, and the table's stream has no record of it (as on
DynamoDB). Then TRANSACTIONS (default 200) two-item transactions on one table are timed and
the server's answer time per transaction is printed: stock moto's grows with the table
(docs/performance.md, "moto").
"""

import sys
import time
import uuid

import boto3
import botocore.exceptions

endpoint = sys.argv[1]
transactions = int(sys.argv[2]) if len(sys.argv) > 2 else 200
session = boto3.session.Session(
    aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
)
dynamodb = session.client("dynamodb", endpoint_url=endpoint)
streams = session.client("dynamodbstreams", endpoint_url=endpoint)
table = f"moto-check-{uuid.uuid4().hex}"
created = dynamodb.create_table(
    TableName=table,
    KeySchema=[
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ],
    AttributeDefinitions=[
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
    ],
    BillingMode="PAY_PER_REQUEST",
    StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
)
stream = created["TableDescription"]["LatestStreamArn"]


def stream_records():
    shard = streams.describe_stream(StreamArn=stream)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(
        StreamArn=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    return streams.get_records(ShardIterator=iterator, Limit=1000)["Records"]


def key(pk, sk):
    return {"pk": {"S": pk}, "sk": {"S": sk}}


try:
    dynamodb.put_item(TableName=table, Item={**key("a", "1"), "v": {"N": "1"}})
    before = len(stream_records())
    try:
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": table,
                        "Key": key("a", "1"),
                        "UpdateExpression": "SET v = :v",
                        "ExpressionAttributeValues": {":v": {"N": "2"}},
                    }
                },
                {"Put": {"TableName": table, "Item": key("b", "1")}},
                {
                    "Put": {
                        "TableName": table,
                        "Item": key("a", "2"),
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )
        sys.exit("FAIL: a transaction whose condition fails was accepted")
    except botocore.exceptions.ClientError as error:
        code = error.response["Error"]["Code"]
        assert code == "TransactionCanceledException", code
    items = dynamodb.scan(TableName=table)["Items"]
    assert items == [{**key("a", "1"), "v": {"N": "1"}}], f"FAIL: left behind {items}"
    after = len(stream_records())
    assert after == before, f"FAIL: the failed transaction wrote {after - before} stream records"

    started = time.monotonic()
    for i in range(transactions):
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {**key(f"u{i}", "1"), "x": {"S": "y" * 200}}}},
                {"Put": {"TableName": table, "Item": key(f"u{i}", "2")}},
            ]
        )
    seconds = time.monotonic() - started
    print(
        f"moto at {endpoint}: a failed transaction leaves no trace; {transactions} transactions "
        f"in {seconds:.1f} s ({1000 * seconds / transactions:.1f} ms each)"
    )
finally:
    dynamodb.delete_table(TableName=table)
