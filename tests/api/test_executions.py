"""Executions, task callbacks and the tenant's view of the queues, over HTTP."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from invoiceflow.queues import SQSClient
from invoiceflow.queues.names import queue_arn
from tests.api.conftest import Api

ASK = {
    "StartAt": "Ask",
    "States": {
        "Ask": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {
                "QueueUrl": "asks",
                "MessageBody": {"token.$": "$$.Task.Token", "execution.$": "$$.Execution.Id"},
            },
            "End": True,
        }
    },
}


@pytest.fixture(scope="module")
def asking(api: Api) -> dict[str, Any]:
    """A callback workflow whose messages nobody consumes, and its queues."""
    sqs = SQSClient(api.pipeline.engine.runtime.queues)
    sqs.create_queue(QueueName="asks-dlq")
    policy = {"deadLetterTargetArn": queue_arn("asks-dlq"), "maxReceiveCount": 1}
    sqs.create_queue(QueueName="asks", Attributes={"RedrivePolicy": json.dumps(policy)})
    sfn = api.pipeline.engine.client
    arn = sfn.create_state_machine(name="ask", definition=json.dumps(ASK))["stateMachineArn"]
    return {"arn": arn, "sqs": sqs}


def start(api: Api, asking: dict[str, Any], tenant: str) -> tuple[str, str]:
    """An execution of ``tenant`` waiting for its token; (execution ARN, token). Other
    executions' messages are left in the queue."""
    sfn = api.pipeline.engine.client.for_tenant(tenant)
    execution = sfn.start_execution(stateMachineArn=asking["arn"])["executionArn"]
    sqs = asking["sqs"]
    while True:
        got = sqs.receive_message(QueueUrl="asks", WaitTimeSeconds=5, VisibilityTimeout=0)
        for message in got.get("Messages", []):
            body = json.loads(message["Body"])
            if body["execution"] == execution:
                sqs.delete_message(QueueUrl="asks", ReceiptHandle=message["ReceiptHandle"])
                return execution, body["token"]


def status(client: httpx.Client, execution: str) -> str:
    return str(client.get(f"/v1/executions/{execution}").json()["status"])


def test_a_task_token_answers_only_for_its_tenant(
    api: Api, asking: dict[str, Any], a: httpx.Client, b: httpx.Client
) -> None:
    execution, token = start(api, asking, "tenant-a")
    stranger = b.post("/v1/tasks/success", json={"taskToken": token, "output": {"ok": 1}})
    assert stranger.status_code == 404 and stranger.json()["code"] == "TaskDoesNotExist"
    assert a.post("/v1/tasks/heartbeat", json={"taskToken": token}).status_code == 200
    answered = a.post("/v1/tasks/success", json={"taskToken": token, "output": {"ok": 1}})
    assert answered.status_code == 200, answered.text
    api.wait_for(a, f"/v1/executions/{execution}", lambda e: e["status"] != "RUNNING")
    assert status(a, execution) == "SUCCEEDED"
    late = a.post("/v1/tasks/failure", json={"taskToken": token, "error": "Late"})
    assert late.status_code == 409 and late.json()["code"] == "TaskTimedOut"
    malformed = a.post("/v1/tasks/success", json={"taskToken": "nope", "output": 1})
    assert malformed.status_code == 400 and malformed.json()["code"] == "InvalidToken"
    missing = a.post("/v1/tasks/success", json={"output": 1})
    assert missing.status_code == 422 and missing.json()["code"] == "ValidationError"


def test_a_failed_execution_is_redriven_and_a_running_one_stopped(
    api: Api, asking: dict[str, Any], a: httpx.Client, b: httpx.Client
) -> None:
    failing, token = start(api, asking, "tenant-a")
    assert a.post("/v1/tasks/failure", json={"taskToken": token, "error": "No"}).status_code == 200
    api.wait_for(a, f"/v1/executions/{failing}", lambda e: e["status"] != "RUNNING")
    described = a.get(f"/v1/executions/{failing}").json()
    assert described["status"] == "FAILED" and described["error"] == "No"
    assert described["redriveStatus"] == "REDRIVABLE"
    assert b.post(f"/v1/executions/{failing}/redrive").status_code == 404
    assert a.post(f"/v1/executions/{failing}/redrive").status_code == 200
    running, _ = start(api, asking, "tenant-a")
    assert b.post(f"/v1/executions/{running}/stop").status_code == 404
    assert a.post(f"/v1/executions/{running}/stop").status_code == 200
    api.wait_for(a, f"/v1/executions/{running}", lambda e: e["status"] != "RUNNING")
    assert status(a, running) == "ABORTED"
    not_redrivable = a.post(f"/v1/executions/{described['executionArn']}/stop")
    assert not_redrivable.status_code == 200
    history = a.get(f"/v1/executions/{running}/history", params={"limit": 2}).json()
    assert [e["type"] for e in history["events"]][:1] == ["ExecutionStarted"]
    rest = a.get(
        f"/v1/executions/{running}/history", params={"next_token": history["nextToken"]}
    ).json()
    assert rest["events"][-1]["type"] == "ExecutionAborted"


def test_executions_are_listed_per_tenant(
    api: Api, asking: dict[str, Any], a: httpx.Client, b: httpx.Client
) -> None:
    mine, _ = start(api, asking, "tenant-b")
    listed = b.get("/v1/executions", params={"status": "RUNNING"}).json()["executions"]
    assert mine in [e["executionArn"] for e in listed]
    others = a.get("/v1/executions", params={"limit": 1000}).json()["executions"]
    assert mine not in [e["executionArn"] for e in others]
    assert b.get(f"/v1/executions/{mine}").status_code == 200
    assert a.get(f"/v1/executions/{mine}").status_code == 404
    assert a.get(f"/v1/executions/{mine}/history").status_code == 404
    by_machine = b.get("/v1/executions", params={"state_machine_arn": asking["arn"]}).json()
    assert mine in [e["executionArn"] for e in by_machine["executions"]]
    page = b.get("/v1/executions", params={"limit": 1}).json()
    if page.get("nextToken"):
        following = b.get("/v1/executions", params={"next_token": page["nextToken"]}).json()
        assert page["executions"][0] not in following["executions"]
    assert b.get("/v1/executions", params={"next_token": "x"}).status_code == 400


def test_a_tenant_sees_peeks_and_redrives_only_its_dead_letters(
    api: Api, asking: dict[str, Any], a: httpx.Client, b: httpx.Client
) -> None:
    sqs = asking["sqs"]
    for leftovers in ("asks", "asks-dlq"):  # what earlier tests left there
        sqs.purge_queue(QueueUrl=leftovers)
    sfn = api.pipeline.engine.client.for_tenant("tenant-a")
    sfn.start_execution(stateMachineArn=asking["arn"])
    # Received once and never deleted, the message goes to the dead-letter queue on the
    # next receive (maxReceiveCount 1).
    assert sqs.receive_message(QueueUrl="asks", VisibilityTimeout=0, WaitTimeSeconds=5)["Messages"]
    assert "Messages" not in sqs.receive_message(QueueUrl="asks")
    queues = {q["name"]: q for q in a.get("/v1/queues").json()["queues"]}
    assert queues["asks-dlq"]["visible"] == 1 and queues["asks"]["dead_letter_queue"] == "asks-dlq"
    assert queues["asks-dlq"]["oldest_age_seconds"] is not None
    theirs = {q["name"]: q for q in b.get("/v1/queues").json()["queues"]}
    assert "asks-dlq" not in theirs and "asks" not in theirs  # none of b's work is there
    peeked = a.get("/v1/queues/asks-dlq/messages").json()["messages"]
    assert len(peeked) == 1 and peeked[0]["dead_letter_source"] == "asks"
    assert "token" in json.loads(peeked[0]["body"])
    assert b.get("/v1/queues/asks-dlq/messages").status_code == 404
    assert b.post("/v1/queues/asks-dlq/redrive").status_code == 404
    assert a.post("/v1/queues/asks-dlq/redrive").json() == {"moved": 1}
    queues = {q["name"]: q for q in a.get("/v1/queues").json()["queues"]}
    assert queues["asks"]["visible"] == 1 and queues["asks-dlq"]["visible"] == 0
    refused = a.post("/v1/queues/asks/redrive")
    assert refused.status_code == 409 and refused.json()["code"] == "NotADeadLetterQueue"
    assert a.get("/v1/queues/nope/messages").status_code == 404
    sqs.purge_queue(QueueUrl="asks")
