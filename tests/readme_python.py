"""Runs the README's Python blocks one after another in one interpreter, as a reader pastes
them into one Python session: each block sees the names the blocks before it defined.

The protocol is one JSON line per block on stdin (``{"code": ..., "env": ..., "name": ...}``)
and one JSON line per answer on the original stdout (``{"ok": bool, "error": str}``); what a
block prints goes to stderr.
"""

from __future__ import annotations

import json
import os
import sys
import traceback


def main() -> None:
    answers = sys.stdout
    sys.stdout = sys.stderr
    sys.path.insert(0, "")  # the current folder, as in an interactive session
    namespace: dict[str, object] = {"__name__": "__main__"}
    for request in sys.stdin:
        block = json.loads(request)
        os.environ.clear()
        os.environ.update(block["env"])
        try:
            exec(compile(block["code"], block["name"], "exec"), namespace)
            answer = {"ok": True, "error": ""}
        except BaseException:  # a SystemExit from a block is a failure too
            answer = {"ok": False, "error": traceback.format_exc()}
        sys.stderr.flush()
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


if __name__ == "__main__":
    main()
