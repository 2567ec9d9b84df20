"""Which wake-ups a notification reaches, and that a waiter never sleeps through one."""

import pytest

from invoiceflow.store import open_database
from invoiceflow.store.wakeups import Switchboard


def test_a_word_hears_every_key_and_a_key_hears_its_word() -> None:
    board = Switchboard()
    word, one, two = (
        board.subscribe(["messages"]),
        board.subscribe(["messages/1"]),
        board.subscribe(["messages/2"]),
    )
    board.deliver(["messages/1"])
    assert [word.wait(0), one.wait(0), two.wait(0)] == [True, True, False]
    board.deliver(["messages"])
    assert [word.wait(0), one.wait(0), two.wait(0)] == [True, True, True]


def test_a_notification_while_the_waiter_looked_is_kept_for_its_wait() -> None:
    board = Switchboard()
    wakeup = board.subscribe(["executions"])
    board.deliver(["executions"])  # arrives before the wait, as while the waiter looked
    assert wakeup.wait(10)
    assert not wakeup.wait(0)  # told once


def test_a_closed_wakeup_hears_nothing_and_the_words_go() -> None:
    board = Switchboard()
    with board.subscribe(["tasks", "messages/3"]) as wakeup:
        assert board.words() == {"tasks", "messages"}
    board.deliver(["tasks"])
    assert not wakeup.wait(0)
    assert board.words() == set()


def test_a_rolled_back_transaction_notifies_nobody() -> None:
    db = open_database("sqlite://")
    with db.listen("executions") as wakeup:
        with pytest.raises(RuntimeError), db.transaction() as tx:
            tx.notify("executions")
            raise RuntimeError("rolled back")
        assert not wakeup.wait(0)
    db.close()
