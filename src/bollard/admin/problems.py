"""The console's refusals: Bollard errors with the status and code the admin API answers.

    BollardError (bollard.errors)
    └── AdminError (400 BAD_REQUEST)
        ├── InvalidInput (422 INVALID_INPUT)
        ├── AdminUnauthenticated (401 ADMIN_UNAUTHENTICATED)
        ├── CsrfRejected (403 CSRF_REJECTED)
        ├── RoleRefused (403 ROLE_REFUSED)
        ├── UnknownAgent (404 AGENT_NOT_FOUND)
        ├── UnknownRecord (404 RECORD_NOT_FOUND)
        ├── AgentExists (409 AGENT_EXISTS)
        ├── SignInThrottled (429 SIGN_IN_THROTTLED)
        └── ChangeNotRecorded (503 AUDIT_UNAVAILABLE)

The admin API renders each as `{"error": message, "error_code": code}`; the
pages show the message beside the form that caused it.
"""

from __future__ import annotations

from starlette.responses import JSONResponse

from bollard.errors import BollardError


class AdminError(BollardError):
    status = 400
    error_code = "BAD_REQUEST"


class InvalidInput(AdminError):
    status = 422
    error_code = "INVALID_INPUT"


class AdminUnauthenticated(AdminError):
    status = 401
    error_code = "ADMIN_UNAUTHENTICATED"


class CsrfRejected(AdminError):
    status = 403
    error_code = "CSRF_REJECTED"


class RoleRefused(AdminError):
    """Signed in, but the admin's role does not allow this (a viewer deciding a call)."""

    status = 403
    error_code = "ROLE_REFUSED"


class UnknownAgent(AdminError):
    status = 404
    error_code = "AGENT_NOT_FOUND"


class UnknownRecord(AdminError):
    status = 404
    error_code = "RECORD_NOT_FOUND"


class AgentExists(AdminError):
    status = 409
    error_code = "AGENT_EXISTS"


class SignInThrottled(AdminError):
    """Too many wrong admin tokens from one address; says how long to wait."""

    status = 429
    error_code = "SIGN_IN_THROTTLED"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"too many wrong admin tokens from this address: try again in {retry_after} s",
            headers={"retry-after": str(retry_after)},
        )
        self.retry_after = retry_after


class ChangeNotRecorded(AdminError):
    status = 503
    error_code = "AUDIT_UNAVAILABLE"


def problem(exc: AdminError) -> JSONResponse:
    """The one rendering of a refusal."""
    headers = {"www-authenticate": "Bearer"} if exc.status == 401 else exc.headers or None
    body = {"error": exc.message, "error_code": exc.error_code}
    return JSONResponse(body, status_code=exc.status, headers=headers)
