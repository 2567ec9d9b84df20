"""``python -m tests.api.hanging DATABASE_URL DRAIN_TIMEOUT``: ``invoiceflow serve`` with a
handler named ``hang`` that never returns, to see serve stop all the same."""

from __future__ import annotations

import sys
import threading
from typing import Any

import orjson

from invoiceflow.functions import LambdaContext, handler
from invoiceflow.serve import serve

NEVER = threading.Event()


@handler("hang")
def hang(event: Any, context: LambdaContext) -> Any:
    sys.stderr.write(orjson.dumps({"event": "hanging"}).decode() + "\n")
    sys.stderr.flush()
    NEVER.wait()


if __name__ == "__main__":
    url, drain = sys.argv[1], int(sys.argv[2])
    serve(url, "127.0.0.1", 0, max_upload=1 << 20, json_logs=True, drain_timeout=drain)
