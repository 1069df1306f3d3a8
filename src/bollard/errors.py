"""Bollard's own refusals and failures, one tree rooted at `BollardError`.

Each class carries the HTTP status a front door answers with and a stable
`error_code` that clients can branch on. Apollo's own 4xx answers are not
exceptions: they are results, passed back to the agent and audited.

    BollardError (500 INTERNAL_ERROR)
    ├── InvalidRequest (422 INVALID_REQUEST)
    │   ├── MalformedBody (400 MALFORMED_BODY)
    │   ├── BodyTooLarge (413 BODY_TOO_LARGE)
    │   ├── RecordLimitExceeded (400 RECORD_LIMIT_EXCEEDED)
    │   ├── IncompleteRequest (400 INVALID_REQUEST)
    │   ├── UnknownParameter (422 UNKNOWN_PARAMETER)
    │   └── EndpointDeprecated (422 ENDPOINT_DEPRECATED)
    ├── Unauthenticated (401 INVALID_API_KEY)
    ├── NotGranted (403 NOT_GRANTED)
    ├── PolicyDenied (403 POLICY_DENIED)
    ├── ApprovalDenied (403 APPROVAL_DENIED)
    ├── ApprovalGone (410 APPROVAL_EXPIRED)
    │   └── ApprovalSpent (410 APPROVAL_SPENT)
    ├── MasterKeyRequired (403 MASTER_KEY_REQUIRED)
    ├── RouteNotFound (404 NOT_FOUND)
    │   ├── RequestIdUnknown (404 request_id_unknown)
    │   └── ApprovalNotFound (404 APPROVAL_NOT_FOUND)
    ├── MethodNotAllowed (405 METHOD_NOT_ALLOWED)
    ├── RateLimited (429 RATE_LIMITED)
    │   └── CreditBudgetExhausted (429 CREDIT_BUDGET_EXHAUSTED)
    ├── AuditUnavailable (503 AUDIT_UNAVAILABLE)
    ├── StoreUnavailable (503 STORE_UNAVAILABLE)
    ├── UpstreamUnavailable (502 UPSTREAM_UNAVAILABLE)
    │   ├── UpstreamFailedMidCall (502 UPSTREAM_UNAVAILABLE)
    │   ├── UpstreamRedirected (502 UPSTREAM_REDIRECTED)
    │   └── UpstreamReplyTooLarge (502 UPSTREAM_REPLY_TOO_LARGE)
    └── UpstreamTimeout (504 UPSTREAM_TIMEOUT)

    CatalogError (ValueError): the catalog data file is broken; raised at load.
    ConfigError (ValueError): settings or an admin command's input is wrong.
"""

from __future__ import annotations

from typing import ClassVar


class BollardError(Exception):
    """Base of every refusal or failure a front door turns into a response."""

    status: ClassVar[int] = 500
    error_code: ClassVar[str] = "INTERNAL_ERROR"
    # The outcome word written to the audit log for this kind of failure.
    outcome: ClassVar[str] = "error"
    # Whether the call may have reached Apollo (and spent credits) before it failed:
    # such a call keeps its credit reservation.
    may_have_reached_apollo: ClassVar[bool] = False

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}


class InvalidRequest(BollardError):
    status = 422
    error_code = "INVALID_REQUEST"
    outcome = "invalid"


class MalformedBody(InvalidRequest):
    status = 400
    error_code = "MALFORMED_BODY"


class BodyTooLarge(InvalidRequest):
    status = 413
    error_code = "BODY_TOO_LARGE"


class RecordLimitExceeded(InvalidRequest):
    status = 400
    error_code = "RECORD_LIMIT_EXCEEDED"


class IncompleteRequest(InvalidRequest):
    """What Apollo refuses with 400, not 422 (a bulk call without details, a reveal or
    waterfall without webhook_url): Bollard answers as Apollo does."""

    status = 400


class UnknownParameter(InvalidRequest):
    """A name the action does not take, which Apollo would silently ignore (answering,
    say, a search without its filter): refused, with the nearest names it does take."""

    error_code = "UNKNOWN_PARAMETER"

    def __init__(self, message: str, nearest: dict[str, list[str]]) -> None:
        super().__init__(message)
        self.nearest = nearest  # each unknown name → the nearest known ones


class EndpointDeprecated(InvalidRequest):
    """An endpoint Apollo retired: Apollo's 422 and text, naming Bollard's replacement."""

    error_code = "ENDPOINT_DEPRECATED"


class Unauthenticated(BollardError):
    status = 401
    error_code = "INVALID_API_KEY"
    outcome = "unauthenticated"


class NotGranted(BollardError):
    status = 403
    error_code = "NOT_GRANTED"
    outcome = "denied"


class PolicyDenied(BollardError):
    """A policy rule refused the call: its reason is the message."""

    status = 403
    error_code = "POLICY_DENIED"
    outcome = "denied"


class ApprovalDenied(BollardError):
    """A person denied the held call: their reason is the message."""

    status = 403
    error_code = "APPROVAL_DENIED"
    outcome = "denied"


class ApprovalGone(BollardError):
    """The held call expired before it was approved and sent: nothing was sent."""

    status = 410
    error_code = "APPROVAL_EXPIRED"
    outcome = "expired"


class ApprovalSpent(ApprovalGone):
    """The approved call was sent and its answer already delivered and no longer kept."""

    error_code = "APPROVAL_SPENT"
    outcome = "spent"


class MasterKeyRequired(BollardError):
    status = 403
    error_code = "MASTER_KEY_REQUIRED"
    outcome = "denied"


class RouteNotFound(BollardError):
    status = 404
    error_code = "NOT_FOUND"
    outcome = "invalid"


class RequestIdUnknown(RouteNotFound):
    """A webhook-result poll for a request id this agent's calls never produced.

    Apollo's own code for an id it never issued, so a polling client stops."""

    error_code = "request_id_unknown"
    outcome = "denied"


class ApprovalNotFound(RouteNotFound):
    """No approval with this id is this agent's (another agent's is not told apart)."""

    error_code = "APPROVAL_NOT_FOUND"


class MethodNotAllowed(BollardError):
    status = 405
    error_code = "METHOD_NOT_ALLOWED"
    outcome = "invalid"


class RateLimited(BollardError):
    status = 429
    error_code = "RATE_LIMITED"
    outcome = "limited"


class CreditBudgetExhausted(RateLimited):
    error_code = "CREDIT_BUDGET_EXHAUSTED"


class AuditUnavailable(BollardError):
    status = 503
    error_code = "AUDIT_UNAVAILABLE"
    outcome = "error"


class StoreUnavailable(BollardError):
    """The database could not be read while deciding a call (an outage): retry shortly."""

    status = 503
    error_code = "STORE_UNAVAILABLE"
    outcome = "error"


class UpstreamUnavailable(BollardError):
    status = 502
    error_code = "UPSTREAM_UNAVAILABLE"
    outcome = "upstream_error"


class UpstreamFailedMidCall(UpstreamUnavailable):
    """The connection failed after the call was sent: Apollo may have acted on it."""

    may_have_reached_apollo = True


class UpstreamRedirected(UpstreamUnavailable):
    """Apollo's URL answered with a redirect, which Bollard never follows."""

    error_code = "UPSTREAM_REDIRECTED"
    may_have_reached_apollo = True


class UpstreamReplyTooLarge(UpstreamUnavailable):
    """Apollo's answer was larger than Bollard reads."""

    error_code = "UPSTREAM_REPLY_TOO_LARGE"
    may_have_reached_apollo = True


class UpstreamTimeout(BollardError):
    status = 504
    error_code = "UPSTREAM_TIMEOUT"
    outcome = "timeout"
    may_have_reached_apollo = True


class CatalogError(ValueError):
    """The catalog data file is broken: names the entry and the field at fault."""

    def __init__(self, entry: str, field: str, problem: str) -> None:
        super().__init__(f"catalog entry {entry!r}, field {field!r}: {problem}")
        self.entry = entry
        self.field = field


class ConfigError(ValueError):
    """A setting or an admin command's input is wrong; the message says how to fix it."""
