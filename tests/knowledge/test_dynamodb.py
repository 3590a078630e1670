"""What only the DynamoDB store has: its tables, its errors and its index reads (moto on
loopback). Everything the SQL store also does is tested on both in test_knowledge_base.py,
test_retrieval.py and test_concurrency.py."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from dissensus.errors import KnowledgeError
from dissensus.knowledge.dynamodb import (
    DynamoClient,
    DynamoKnowledgeBase,
    create_knowledge_tables,
    dynamodb_client,
)

from .conftest import path


@pytest.fixture
def client(moto_endpoint: str, aws_credentials: None) -> Iterator[DynamoClient]:
    yield dynamodb_client(endpoint_url=moto_endpoint, region="us-east-1")


def test_creating_the_tables_twice_is_harmless_and_keeps_what_is_there(
    client: DynamoClient,
) -> None:
    prefix = f"kb-{secrets.token_hex(4)}"
    create_knowledge_tables(client, prefix)
    kb = DynamoKnowledgeBase(client, prefix)
    kb.ensure_path(path("Shoes"))
    learning = kb.add(node_key="/shoes", text="Rule.", actor="t")
    create_knowledge_tables(client, prefix)
    assert DynamoKnowledgeBase(client, prefix).get(learning.id) == learning
    tables = client.describe_table(TableName=f"{prefix}-learnings")["Table"]
    assert [i["IndexName"] for i in tables["GlobalSecondaryIndexes"]] == ["by-kind-status"]


def test_missing_tables_are_a_knowledge_error_naming_the_operation(client: DynamoClient) -> None:
    kb = DynamoKnowledgeBase(client, "no-such-prefix")
    with pytest.raises(
        KnowledgeError, match=r"DynamoDB get_item failed \(ResourceNotFoundException\)"
    ):
        kb.get("L-000000")


def test_learned_reads_the_path_and_the_subtree_through_the_index(client: DynamoClient) -> None:
    prefix = f"kb-{secrets.token_hex(4)}"
    create_knowledge_tables(client, prefix)
    kb = DynamoKnowledgeBase(client, prefix)
    kb.ensure_path(path("Home > Knives > Bread"))
    kb.ensure_path(path("Home > Knives-Sets"))
    on_path = kb.add(node_key="/home", text="v", kind="value", values={"Brand": "Acme"}, actor="t")
    below = kb.add(
        node_key="/home/knives/bread", text="v", kind="value", values={"Brand": "Kaito"}, actor="t"
    )
    # A sibling whose key shares the prefix text, a proposed value and a rule: none of them.
    kb.add(node_key="/home/knives-sets", text="v", kind="value", values={"Brand": "X"}, actor="t")
    kb.add(
        node_key="/home/knives",
        text="v",
        kind="value",
        values={"Brand": "Y"},
        actor="t",
        status="proposed",
    )
    kb.add(node_key="/home/knives", text="A rule.", actor="t")
    assert [x.id for x in kb.learned(path("Home > Knives"), "value")] == [on_path.id, below.id]
    # Deprecating moves the item out of the index partition it was in.
    kb.set_status(below.id, "deprecated", "t")
    assert [x.id for x in kb.learned(path("Home > Knives"), "value")] == [on_path.id]
