"""FIFO queue semantics against a small reference model (hypothesis stateful testing):
order within groups, groups held back while in flight, visibility timeouts, deletes with
current and stale handles, and five minutes of deduplication."""

from dataclasses import dataclass

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from invoiceflow.queues import Queues, SQSClient
from invoiceflow.store import open_database

TIMEOUT, DEDUP = 10, 300


@dataclass
class Msg:
    seq: int
    body: str
    group: str
    visible: float = 0.0
    handle: str | None = None
    in_flight: bool = False


class FifoModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = 1_000_000.0
        self.db = open_database("sqlite://")
        self.client = SQSClient(Queues(self.db, clock=lambda: self.now))
        self.url = self.client.create_queue(
            QueueName="q.fifo",
            Attributes={"FifoQueue": "true", "VisibilityTimeout": str(TIMEOUT)},
        )["QueueUrl"]
        self.msgs: list[Msg] = []  # stored, not yet deleted, in send order
        self.seen: dict[str, tuple[str, float]] = {}  # dedup id -> (first message id, until)
        self.stale: list[str] = []
        self.seq = 0

    def teardown(self) -> None:
        self.db.close()

    @rule(group=st.sampled_from(["a", "b", "c"]), dedup=st.sampled_from(["x", "y", None]))
    def send(self, group: str, dedup: str | None) -> None:
        body = f"m{self.seq}"
        dedup_id = dedup or body  # a fresh id unless one of the few shared ones
        self.seq += 1
        out = self.client.send_message(
            QueueUrl=self.url,
            MessageBody=body,
            MessageGroupId=group,
            MessageDeduplicationId=dedup_id,
        )
        first = self.seen.get(dedup_id)
        if first is not None and first[1] > self.now:
            assert out["MessageId"] == first[0]  # a duplicate: answered, not stored
            return
        self.seen[dedup_id] = (out["MessageId"], self.now + DEDUP)
        self.msgs.append(Msg(self.seq, body, group, visible=self.now))

    @rule(n=st.integers(1, 10))
    def receive(self, n: int) -> None:
        got = self.client.receive_message(QueueUrl=self.url, MaxNumberOfMessages=n)
        held = {m.group for m in self.msgs if m.in_flight and m.visible > self.now}
        expected = [m for m in self.msgs if m.group not in held and m.visible <= self.now][:n]
        assert [g["Body"] for g in got.get("Messages", [])] == [m.body for m in expected]
        for m, g in zip(expected, got.get("Messages", []), strict=True):
            if m.handle:
                self.stale.append(m.handle)
            m.handle, m.in_flight, m.visible = g["ReceiptHandle"], True, self.now + TIMEOUT

    @precondition(lambda self: any(m.handle for m in self.msgs))
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        m = data.draw(st.sampled_from([m for m in self.msgs if m.handle]))
        self.client.delete_message(QueueUrl=self.url, ReceiptHandle=m.handle)
        self.msgs.remove(m)  # its latest handle deletes it, in flight or not

    @precondition(lambda self: bool(self.stale))
    @rule()
    def delete_with_a_stale_handle(self) -> None:
        self.client.delete_message(QueueUrl=self.url, ReceiptHandle=self.stale.pop())

    @rule(seconds=st.sampled_from([1, 11, 301]))
    def tick(self, seconds: int) -> None:
        self.now += seconds


FifoModel.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
TestFifoModel = FifoModel.TestCase
