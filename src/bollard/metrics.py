"""`/metrics`: the gateway's counters in Prometheus's text format.

Built on the official client (`prometheus_client`): a collector reads the
live counters of the audit writer, the limiter and the gateway at scrape
time, into a registry of this app's own (nothing global, so two apps in one
process never mix). Like Vault's metrics endpoint it asks for the admin token
(`Authorization: Bearer`, or a console session) unless
`BOLLARD_METRICS_PUBLIC=true` opens it for a scraper on a private network.
It shows counts only: no agent key, no Apollo key, no parameters.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bollard.admin.auth import AdminAuth
from bollard.admin.problems import SignInThrottled, problem
from bollard.gateway import Gateway


class GatewayCollector(Collector):
    """Reads the gateway's own counters each time Prometheus scrapes."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    def collect(self) -> Iterator[Metric]:
        gateway, audit = self.gateway, self.gateway.audit
        calls = CounterMetricFamily(
            "bollard_calls",
            "Calls through the gateway by door and outcome (ok, denied, invalid, limited, "
            "unauthenticated, upstream_error, timeout, error: e.g. the audit log unwritable).",
            labels=["door", "outcome"],
        )
        for (door, outcome), count in sorted(gateway.outcomes.items()):
            calls.add_metric([door, outcome], count)
        yield calls
        counters = (
            ("bollard_audit_records_written", "Audit records committed by this process.",
             audit.records_written),
            ("bollard_audit_batches",
             "Group commits of the audit writer (records per commit = records / batches).",
             audit.batches),
            ("bollard_audit_commit_delays",
             "Commits held back a moment to share their fsync, because calls were arriving "
             "concurrently (like PostgreSQL's commit_delay).",
             audit.delayed_commits),
            ("bollard_audit_checkpoints_written",
             "Signed checkpoints of the audit chain written by this process.",
             audit.checkpoints_written),
            ("bollard_rate_limits_failed_open",
             "Calls let through without a rate-limit decision because Redis failed "
             "(only with BOLLARD_RATE_LIMIT_FAIL_OPEN=true; budgets always fail closed).",
             getattr(gateway.limiter, "failed_open", 0)),
        )  # fmt: skip
        gauges = (
            ("bollard_audit_outcomes_recovered",
             "Requests found without an outcome at start and recorded as outcome_unknown.",
             audit.recovered),
            ("bollard_audit_failed",
             "1 once an audit write failed: from then on no call is forwarded (see /readyz).",
             0 if audit.healthy else 1),
            ("bollard_audit_queue", "Records handed to the audit writer and not yet committed.",
             audit.queued),
        )  # fmt: skip
        for name, text, value in counters:
            yield CounterMetricFamily(name, text, value=value)
        for name, text, value in gauges:
            yield GaugeMetricFamily(name, text, value=value)
        timed = (
            ("bollard_audit_commit_seconds",
             "How long each audit commit (with its fsync) held the writer; calls queued "
             "meanwhile wait.", audit.commit_seconds),
            ("bollard_audit_wal_checkpoint_seconds",
             "SQLite: how long each WAL checkpoint held the audit writer.",
             audit.wal_checkpoint_seconds),
        )  # fmt: skip
        for name, text, durations in timed:
            yield HistogramMetricFamily(
                name, text, buckets=durations.cumulative(), sum_value=durations.total
            )


def metrics_route(gateway: Gateway, auth: AdminAuth | None) -> Route:
    """GET /metrics for this app's gateway; with `auth`, for the admin token holder only."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(GatewayCollector(gateway))

    async def metrics(request: Request) -> Response:
        try:
            principal = await auth.principal(request) if auth is not None else True
        except SignInThrottled as exc:
            return problem(exc)
        if principal is None:
            return JSONResponse(
                {
                    "error": "metrics need the admin token: send Authorization: Bearer "
                    "<admin token>, or set BOLLARD_METRICS_PUBLIC=true for a scraper",
                    "error_code": "UNAUTHORIZED",
                },
                status_code=401,
                headers={"www-authenticate": "Bearer"},
            )
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return Route("/metrics", metrics, methods=["GET"])
