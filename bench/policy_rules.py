"""Per-call server CPU of an agent with 20 policy rules against one with none, in one run.

One `bollard serve` (SQLite) in front of the sandbox, two agents granted people:read:
`plain` has no rules, `ruled` has 20 (15 covering people.search, each with a CEL condition
the bench's search does not meet, so every one is evaluated and the call still goes up;
5 on other actions, which the selector match skips). wrk drives the same people search
with each agent's key in alternating blocks (plain, ruled, plain, ...), and the figure is
the server process's CPU (user + system, from /proc) per call: noise from other work on
this shared host moves wall time far more than it moves a process's own CPU per call.

Run: uv run python bench/policy_rules.py [--seconds 4] [--rounds 5] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from contextlib import ExitStack
from datetime import UTC, datetime

from bollard.catalog import load_catalog
from bollard.policy import Rule, compile_rule, evaluate
from gateway import (
    BODY,
    ROOT,
    Target,
    bollard_env,
    free_port,
    process,
    sandbox_command,
    wrk,
    wrk_command,
)

# (selector, condition): none of these holds for {"person_titles": ["vp of sales"], "per_page": 10}
RULES = [
    ("people.search", "has(args.per_page) && args.per_page > 25"),
    ("people.search", "has(args.page) && args.page > 20"),
    ("people.search", "has(args.person_titles) && size(args.person_titles) > 5"),
    ("people.search", 'has(args.q_keywords) && args.q_keywords.contains("ceo")'),
    ("people.search", "has(args.person_locations) && size(args.person_locations) > 3"),
    ("people.search", 'has(args.person_seniorities) && "owner" in args.person_seniorities'),
    ("people.search", "has(args.organization_ids) && size(args.organization_ids) > 10"),
    ("people.search", "has(args.include_similar_titles) && args.include_similar_titles == false"),
    (
        "people.search",
        'has(args.contact_email_status) && "unavailable" in args.contact_email_status',
    ),
    ("people.search", "has(args.revenue_range) && has(args.revenue_range.max)"),
    (
        "people.search",
        "has(args.q_organization_domains_list) && size(args.q_organization_domains_list) > 20",
    ),
    (
        "people.search",
        'has(args.organization_locations) && "antarctica" in args.organization_locations',
    ),
    ("people:read", 'agent == "nobody"'),
    ("*:read", 'action == "people.nothing"'),
    ("people.search", "has(args.page) && has(args.per_page) && args.page * args.per_page > 5000"),
    ("people.enrich", "has(args.reveal_phone_number) && args.reveal_phone_number == true"),
    ("people.enrich", "has(args.reveal_personal_emails) && args.reveal_personal_emails == true"),
    ("people.bulk_enrich", "has(args.details) && size(args.details) > 3"),
    ("sequences.add_contacts", '!(args.emailer_campaign_id in ["seq_abc", "seq_def"])'),
    ("contacts.create", 'has(args.email) && args.email.endsWith("@example.com")'),
]


def cli(env: dict[str, str], *args: str) -> str:
    run = subprocess.run(
        [sys.executable, "-m", "bollard.cli", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    if run.returncode:
        raise SystemExit(f"bollard {' '.join(args)}: {run.stderr}")
    return run.stdout


def agent_key(env: dict[str, str], name: str) -> str:
    grants = ("--grant", "*:*")
    return str(json.loads(cli(env, "agents", "create", name, *grants, "--json"))["key"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=4, help="each wrk block")
    ap.add_argument("--rounds", type=int, default=5, help="blocks per agent, alternating")
    ap.add_argument("--concurrency", type=int, default=16)
    args = ap.parse_args()
    wrk_command()
    with ExitStack() as stack:
        sp = free_port()
        sandbox_url = f"http://127.0.0.1:{sp}"
        stack.enter_context(process(sandbox_command(sp), sp))
        env = bollard_env(sandbox_url, name="rules")
        plain, ruled = agent_key(env, "plain"), agent_key(env, "ruled")
        for selector, condition in RULES:
            cli(env, "rules", "add", "ruled", selector, "--effect", "deny", "--when", condition)
        port = free_port()
        serve = [sys.executable, "-m", "bollard.cli", "serve", "--port", str(port)]
        pid = stack.enter_context(process(serve, port, env))
        url = f"http://127.0.0.1:{port}"
        targets = [Target("no rules", url, plain, pid), Target("20 rules", url, ruled, pid)]
        print(f"load before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")
        for t in targets:
            wrk(t, 1, args.concurrency)  # warm up: rules compiled, caches filled
        cpu: dict[str, list[float]] = {t.name: [] for t in targets}
        rps: dict[str, list[float]] = {t.name: [] for t in targets}
        for _ in range(args.rounds):
            for t in targets:
                row = wrk(t, args.seconds, args.concurrency)
                cpu[t.name].append(row["cpu_ms"])
                rps[t.name].append(row["rps"])
        report(args, cpu, rps)
        cost = evaluate_us()
        base = statistics.median(cpu["no rules"]) * 1000
        print(
            f"  policy.evaluate of the 20 rules, in-process: {cost:.0f} us per call "
            f"({cost / base:.1%} of the no-rules server CPU per call)"
        )
        print(f"load after: {os.getloadavg()[0]:.2f}")


def evaluate_us(n: int = 2000) -> float:
    """Microseconds per `policy.evaluate` of the 20 rules on the bench's search, in this
    process: the rules' own cost, free of the server's and the host's noise."""
    catalog = load_catalog()
    rules = [
        compile_rule(Rule(i, "ruled", sel, "deny", "", cond), catalog)
        for i, (sel, cond) in enumerate(RULES)
    ]
    action = catalog.get("people.search")
    assert action is not None
    args = json.loads(BODY)
    now = datetime.now(UTC)
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        for _ in range(n):
            assert evaluate(rules, action, args, "ruled", now).allowed
        best = min(best, (time.process_time() - start) / n * 1e6)
    return best


def report(
    args: argparse.Namespace, cpu: dict[str, list[float]], rps: dict[str, list[float]]
) -> None:
    print(
        f"people search, one bollard serve (SQLite), wrk -t1 -c{args.concurrency}, "
        f"{args.rounds} alternating blocks of {args.seconds:g}s per agent"
    )
    for name in cpu:
        blocks = ", ".join(f"{v:.3f}" for v in cpu[name])
        print(
            f"  {name:9s} server CPU/call median {statistics.median(cpu[name]):.3f} ms "
            f"(blocks: {blocks}); {statistics.median(rps[name]):.0f} req/s"
        )
    ratios = [r / p for p, r in zip(cpu["no rules"], cpu["20 rules"], strict=True)]
    print(
        f"  20 rules / no rules, CPU per call: median {statistics.median(ratios):.3f} "
        f"(per round: {', '.join(f'{r:.3f}' for r in ratios)}; target <= 1.10)"
    )


if __name__ == "__main__":
    main()
