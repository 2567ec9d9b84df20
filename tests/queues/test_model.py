"""The queue semantics against a small reference model (hypothesis stateful testing).

The model is SQS as documented, plus the one promise invoiceflow adds: a receive takes the
messages that became visible first (then those stored first); within its batch, as in SQS,
there is no order.
"""

import json
from dataclasses import dataclass, field

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from invoiceflow.queues import Queues, SQSClient
from invoiceflow.queues.moves import run_moves
from invoiceflow.store import open_database

SOURCE_RETENTION, DLQ_RETENTION, MAX_RECEIVES = 60, 100, 2


@dataclass
class Msg:
    seq: int
    body: str
    queue: str
    sent: float
    expires: float
    visible: float
    count: int = 0
    handle: str | None = None
    old_handles: list[tuple[str, str]] = field(default_factory=list)  # (queue, handle)


class QueueModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = 1_000_000.0
        self.db = open_database("sqlite://")
        self.queues = Queues(self.db, clock=lambda: self.now)
        self.client = SQSClient(self.queues)
        dlq = self.client.create_queue(
            QueueName="dlq", Attributes={"MessageRetentionPeriod": str(DLQ_RETENTION)}
        )
        self.url = {"dlq": dlq["QueueUrl"]}
        self.dlq_arn = "arn:aws:sqs:us-east-1:000000000000:dlq"
        redrive = {"deadLetterTargetArn": self.dlq_arn, "maxReceiveCount": MAX_RECEIVES}
        self.url["q"] = self.client.create_queue(
            QueueName="q",
            Attributes={
                "MessageRetentionPeriod": str(SOURCE_RETENTION),
                "VisibilityTimeout": "5",
                "RedrivePolicy": json.dumps(redrive),
            },
        )["QueueUrl"]
        self.msgs: dict[str, Msg] = {}  # by body (bodies are unique)
        self.seq = 0

    def teardown(self) -> None:
        self.db.close()

    # -- model helpers -------------------------------------------------------------------
    def live(self, queue: str) -> list[Msg]:
        return [m for m in self.msgs.values() if m.queue == queue and m.expires > self.now]

    def forget_expired(self) -> None:
        self.msgs = {b: m for b, m in self.msgs.items() if m.expires > self.now}

    # -- rules ---------------------------------------------------------------------------
    @rule(delay=st.sampled_from([0, 0, 3]))
    def send(self, delay: int) -> None:
        body = f"m{self.seq}"
        self.client.send_message(QueueUrl=self.url["q"], MessageBody=body, DelaySeconds=delay)
        self.msgs[body] = Msg(
            self.seq, body, "q", self.now, self.now + SOURCE_RETENTION, self.now + delay
        )
        self.seq += 1

    @rule(
        queue=st.sampled_from(["q", "q", "dlq"]),
        n=st.integers(1, 10),
        vt=st.sampled_from([None, 0, 2, 10]),
    )
    def receive(self, queue: str, n: int, vt: int | None) -> None:
        kwargs = {} if vt is None else {"VisibilityTimeout": vt}
        got = self.client.receive_message(
            QueueUrl=self.url[queue], MaxNumberOfMessages=n, AttributeNames=["All"], **kwargs
        ).get("Messages", [])
        self.forget_expired()
        timeout = vt if vt is not None else (5 if queue == "q" else 30)
        ready = sorted(
            (m for m in self.live(queue) if m.visible <= self.now), key=lambda m: (m.visible, m.seq)
        )
        expected = []
        for m in ready:
            if len(expected) == n:
                break
            if queue == "q" and m.count >= MAX_RECEIVES:
                if m.handle:
                    m.old_handles.append((m.queue, m.handle))
                m.queue, m.expires, m.visible = "dlq", m.sent + DLQ_RETENTION, self.now
                m.handle = None
                continue
            m.count += 1
            m.visible = self.now + timeout
            if m.handle:
                m.old_handles.append((m.queue, m.handle))
            expected.append(m)
        # Which messages a receive takes follows visibility; within the batch, SQS promises
        # no order.
        got.sort(key=lambda g: g["Body"])
        expected.sort(key=lambda m: m.body)
        assert [g["Body"] for g in got] == [m.body for m in expected]
        for g, m in zip(got, expected, strict=True):
            assert g["Attributes"]["ApproximateReceiveCount"] == str(m.count)
            assert g["Attributes"]["SentTimestamp"] == str(int(m.sent * 1000))
            m.handle = g["ReceiptHandle"]

    @precondition(lambda self: any(m.handle for m in self.msgs.values()))
    @rule(data=st.data())
    def delete_current(self, data: st.DataObject) -> None:
        m = data.draw(
            st.sampled_from(
                sorted((m for m in self.msgs.values() if m.handle), key=lambda m: m.seq)
            )
        )
        self.client.delete_message(QueueUrl=self.url[m.queue], ReceiptHandle=m.handle)
        del self.msgs[m.body]

    @precondition(lambda self: any(m.old_handles for m in self.msgs.values()))
    @rule(data=st.data())
    def delete_stale(self, data: st.DataObject) -> None:
        m = data.draw(
            st.sampled_from(
                sorted((m for m in self.msgs.values() if m.old_handles), key=lambda m: m.seq)
            )
        )
        queue, handle = data.draw(st.sampled_from(m.old_handles))
        self.client.delete_message(QueueUrl=self.url[queue], ReceiptHandle=handle)
        # nothing changes: the message belongs to its latest receive

    @precondition(lambda self: any(m.handle for m in self.msgs.values()))
    @rule(data=st.data(), timeout=st.sampled_from([0, 1, 20]))
    def change_visibility(self, data: st.DataObject, timeout: int) -> None:
        m = data.draw(
            st.sampled_from(
                sorted((m for m in self.msgs.values() if m.handle), key=lambda m: m.seq)
            )
        )
        in_flight = m.visible > self.now and m.expires > self.now
        try:
            self.client.change_message_visibility(
                QueueUrl=self.url[m.queue], ReceiptHandle=m.handle, VisibilityTimeout=timeout
            )
        except self.client.exceptions.MessageNotInflight:
            assert not in_flight
            return
        assert in_flight
        m.visible = self.now + timeout

    @rule(seconds=st.sampled_from([1, 3, 11, 45]))
    def tick(self, seconds: int) -> None:
        self.now += seconds

    @rule(queue=st.sampled_from(["q", "dlq"]))
    def purge(self, queue: str) -> None:
        self.client.purge_queue(QueueUrl=self.url[queue])
        self.msgs = {b: m for b, m in self.msgs.items() if m.queue != queue}

    @rule()
    def redrive(self) -> None:
        self.client.start_message_move_task(SourceArn=self.dlq_arn)
        run_moves(self.queues)
        self.forget_expired()
        for m in self.live("dlq"):
            if m.visible <= self.now:
                if m.handle:
                    m.old_handles.append((m.queue, m.handle))
                m.queue, m.sent, m.count = "q", self.now, 0
                m.expires, m.visible = self.now + SOURCE_RETENTION, self.now
                m.handle = None
        [task] = self.client.list_message_move_tasks(SourceArn=self.dlq_arn)["Results"]
        assert task["Status"] == "COMPLETED"

    @invariant()
    def counts_agree(self) -> None:
        for queue, url in self.url.items():
            attrs = self.client.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])[
                "Attributes"
            ]
            live = self.live(queue)
            visible = sum(m.visible <= self.now for m in live)
            in_flight = sum(m.visible > self.now and m.count > 0 for m in live)
            delayed = sum(m.visible > self.now and m.count == 0 for m in live)
            assert (
                int(attrs["ApproximateNumberOfMessages"]),
                int(attrs["ApproximateNumberOfMessagesNotVisible"]),
                int(attrs["ApproximateNumberOfMessagesDelayed"]),
            ) == (visible, in_flight, delayed), queue


QueueModel.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
TestQueueModel = QueueModel.TestCase
