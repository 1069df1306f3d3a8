"""The crash test with more rounds: SIGKILL a gateway under load N times (default 500).

    uv run python bench/audit_crash.py [ROUNDS]

Runs tests/audit/test_crash.py with BOLLARD_CRASH_ROUNDS set; each round kills the
gateway at a random 20-200 ms into a 4-client load, then checks the SQLite
integrity, the chain and checkpoints, and that every call the sandbox received
has its request record. BOLLARD_CRASH_SEED picks another sequence of moments.
"""

from __future__ import annotations

import os
import subprocess
import sys


def main() -> int:
    rounds = sys.argv[1] if len(sys.argv) > 1 else "500"
    env = {**os.environ, "BOLLARD_CRASH_ROUNDS": rounds}
    command = [sys.executable, "-m", "pytest", "tests/audit/test_crash.py", "-q", "--no-cov",
               "-p", "no:cacheprovider"]  # fmt: skip
    return subprocess.call(command, env=env)


if __name__ == "__main__":
    sys.exit(main())
