"""Compile and evaluate cost of the two CEL libraries for Python, on the issue's four
example conditions. Run: uv run --with cel-python --with common-expression-language
python bench/cel_libraries.py"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

EXPRESSIONS = (
    "has(args.reveal_phone_number) && args.reveal_phone_number == true",
    '!(args.emailer_campaign_id in ["seq_abc", "seq_def"])',
    "has(args.per_page) && args.per_page > 25",
    "has(args.details) && size(args.details) > 3",
)
ARGS = {
    "reveal_phone_number": True,
    "emailer_campaign_id": "seq_abc",
    "per_page": 50,
    "details": [{"email": f"p{i}@example.com"} for i in range(5)],
    "person_titles": ["cto", "vp engineering"],
}


def per_op(fn: Callable[[], Any], n: int) -> float:
    """Microseconds per call of `fn`, best of three runs of `n`."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, time.perf_counter() - start)
    return best / n * 1e6


def rust() -> tuple[float, float]:
    import cel

    programs = [cel.compile(e) for e in EXPRESSIONS]

    def evaluate() -> None:
        # One context per call, shared by all its rules (what bollard.policy does).
        ctx = cel.Context(
            {"args": ARGS, "agent": "a", "action": "people.enrich", "now": datetime.now(UTC)}
        )
        for p in programs:
            p.execute(ctx)

    compile_us = per_op(lambda: [cel.compile(e) for e in EXPRESSIONS], 200) / 4
    eval_us = per_op(evaluate, 2000) / 4
    return compile_us, eval_us


def pure() -> tuple[float, float]:
    import celpy

    env = celpy.Environment()
    programs = [env.program(env.compile(e)) for e in EXPRESSIONS]

    def evaluate() -> None:
        act = {"args": celpy.json_to_cel(ARGS), "agent": celpy.celtypes.StringType("a")}
        for p in programs:
            p.evaluate(act)

    compile_us = per_op(lambda: [env.program(env.compile(e)) for e in EXPRESSIONS], 20) / 4
    eval_us = per_op(evaluate, 200) / 4
    return compile_us, eval_us


if __name__ == "__main__":
    for name, run in (("common-expression-language (Rust)", rust), ("cel-python (pure)", pure)):
        c, e = run()
        print(f"{name}: compile {c:.1f} us/expression, evaluate {e:.2f} us/expression")
