"""Wake-ups: how a commit that makes work due reaches whoever waits for that work.

A transaction names what its commit makes due with ``tx.notify(channel)``; a waiter holds a
``Wakeup`` from ``db.listen(*channels)`` and calls ``wait(timeout)`` when it has found
nothing to do. A channel is a word (``executions``) or a word and a key
(``messages/42``): listening to the word hears every key, listening to ``word/key`` hears that
key and the bare word. Notifications are hints, never data: a waiter always looks at the
store itself, so one notification too many costs a look, and the backends deliver a
notification to every listener when they cannot be sure none was missed (a lost connection
to the server, a commit by another process on a SQLite file).

``Wakeup.wait`` returns at once when a notification arrived since the previous ``wait``
returned (or since ``listen``), so a waiter that listens, looks, and then waits never sleeps
through work committed while it looked.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from types import TracebackType

__all__ = ["Switchboard", "Wakeup", "split_channel"]


def split_channel(channel: str) -> tuple[str, str]:
    """``messages/42`` -> (``messages``, ``42``); a bare word has the key ``""``."""
    word, _, key = channel.partition("/")
    return word, key


class Wakeup:
    """One waiter's subscription; close it (or leave its ``with`` block) to unsubscribe."""

    __slots__ = ("_board", "_cond", "_fired", "channels")

    def __init__(self, board: Switchboard, channels: tuple[str, ...]) -> None:
        self._board = board
        self._cond = threading.Condition(threading.Lock())
        self._fired = False
        self.channels = channels

    def fire(self) -> None:
        """Wake the waiter (or the next ``wait``) now, as a notification would."""
        with self._cond:
            self._fired = True
            self._cond.notify_all()

    def wait(self, timeout: float) -> bool:
        """Sleep until a notification or ``timeout`` seconds; True if woken by one."""
        with self._cond:
            if not self._fired and timeout > 0:
                self._cond.wait(timeout)
            fired = self._fired
            self._fired = False
            return fired

    def close(self) -> None:
        self._board.unsubscribe(self)

    def __enter__(self) -> Wakeup:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Switchboard:
    """The wake-ups of one process's database, by channel: what every backend delivers to
    once a commit (its own, or one it hears of) has happened."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_channel: dict[str, set[Wakeup]] = {}
        self._words: dict[str, int] = {}  # word -> how many subscriptions name it

    def subscribe(self, channels: Iterable[str]) -> Wakeup:
        wakeup = Wakeup(self, tuple(dict.fromkeys(channels)))
        with self._lock:
            for channel in wakeup.channels:
                self._by_channel.setdefault(channel, set()).add(wakeup)
                word = split_channel(channel)[0]
                self._words[word] = self._words.get(word, 0) + 1
        return wakeup

    def unsubscribe(self, wakeup: Wakeup) -> None:
        with self._lock:
            for channel in wakeup.channels:
                waiting = self._by_channel.get(channel)
                if waiting is None or wakeup not in waiting:
                    continue
                waiting.discard(wakeup)
                if not waiting:
                    del self._by_channel[channel]
                word = split_channel(channel)[0]
                self._words[word] -= 1
                if not self._words[word]:
                    del self._words[word]

    def words(self) -> set[str]:
        """The words someone listens to now (what a server-side listener must hear)."""
        with self._lock:
            return set(self._words)

    def deliver(self, channels: Iterable[str]) -> None:
        """Wake those listening to any of ``channels``: ``word/key`` wakes ``word/key`` and
        ``word``; a bare ``word`` wakes every key of it."""
        woken: set[Wakeup] = set()
        with self._lock:
            if not self._by_channel:
                return
            for channel in channels:
                word, key = split_channel(channel)
                woken.update(self._by_channel.get(word, ()))
                if key:
                    woken.update(self._by_channel.get(channel, ()))
                else:
                    prefix = word + "/"
                    for name, waiting in self._by_channel.items():
                        if name.startswith(prefix):
                            woken.update(waiting)
        for wakeup in woken:
            wakeup.fire()

    def deliver_all(self) -> None:
        """Wake everyone: something may have been missed."""
        with self._lock:
            woken = {w for waiting in self._by_channel.values() for w in waiting}
        for wakeup in woken:
            wakeup.fire()
