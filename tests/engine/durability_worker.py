"""A worker process for the durability crash tests whose own default is given:
``python -m tests.engine.durability_worker DATABASE NAME DURABILITY`` runs a ``Worker``
with that default (and a runtime with it) over the ``step`` handler until SIGTERM."""

import signal
import sys
import threading

import tests.engine.durability_handlers  # noqa: F401  (registers ``step``)
from invoiceflow.engine import Engine
from invoiceflow.engine.worker import Worker
from invoiceflow.functions import default_registry
from invoiceflow.store.sqlite import SQLiteDatabase


def main() -> None:
    path, name, durability = sys.argv[1:4]
    db = SQLiteDatabase(path)
    engine = Engine.open(db, invoker=default_registry(), durability=durability)
    worker = Worker(engine.runtime, name=name, lease=1.0, durability=durability)
    stopping = threading.Event()  # the signal handler only sets a flag, as the CLI's does
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    loop = threading.Thread(target=worker.run, name="worker")
    loop.start()
    while loop.is_alive():
        if stopping.is_set():
            worker.stop()
        loop.join(0.1)


if __name__ == "__main__":
    main()
