"""Message ids are random version 4 UUIDs, as SQS's are."""

import uuid

from hypothesis import given
from hypothesis import strategies as st

from invoiceflow.queues.queue import message_ids


@given(st.integers(min_value=0, max_value=50))
def test_message_ids_are_distinct_version_4_uuids(count: int) -> None:
    ids = message_ids(count)
    assert len(ids) == len(set(ids)) == count
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


def test_every_variant_digit_occurs() -> None:
    """The digit after the third dash carries two random bits: all four values appear."""
    assert {text[19] for text in message_ids(400)} == set("89ab")
