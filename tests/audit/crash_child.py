"""A zygote for the crash test: imports Bollard once, then forks one gateway per round.

Run as `python -m tests.audit.crash_child SETTINGS_JSON`. For each line on
stdin it forks a child that serves `create_app(settings)` on a fresh loopback
port and prints "PID PORT" once listening. The zygote itself stays
single-threaded, so forking it is safe; children are reaped automatically.
The test kills the children with SIGKILL.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys

import uvicorn
from starlette.applications import Starlette

from bollard.app import create_app
from bollard.settings import Settings


def _serve(app: Starlette) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    print(os.getpid(), sock.getsockname()[1], flush=True)
    config = uvicorn.Config(app, log_level="error", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


def main() -> None:
    settings = Settings.model_validate(json.loads(sys.argv[1]))
    # Built once, before any fork; the engine holds no open connection across a fork.
    # Everything with state (audit thread, upstream session) starts in each child.
    app = create_app(settings)
    app.state.engine.dispose()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    for _line in sys.stdin:
        if os.fork() == 0:
            _serve(app)
            os._exit(0)


if __name__ == "__main__":
    main()
