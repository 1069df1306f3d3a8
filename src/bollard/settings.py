"""Settings, read from `BOLLARD_*` environment variables (secrets also from `*_FILE`).

Nothing here is global: `Settings.from_env()` is called by the CLI and the
result is passed explicitly to `create_app` and the commands.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bollard.errors import ConfigError

APOLLO_URL = "https://api.apollo.io"
ADMIN_TOKEN_MIN = 16
SECRET_NAMES = (
    "apollo_key",
    "apollo_master_key",
    "admin_token",
    "audit_key",
    "approvals_webhook_secret",
)


class Settings(BaseSettings):
    """Everything Bollard can be told, with the embedded defaults."""

    model_config = SettingsConfigDict(env_prefix="BOLLARD_", extra="ignore", frozen=True)

    database_url: str = "sqlite:///./bollard.db"
    apollo_url: str = APOLLO_URL
    apollo_key: SecretStr | None = None
    apollo_key_scopes: Annotated[tuple[str, ...] | None, NoDecode] = None
    apollo_master_key: SecretStr | None = None
    redis_url: str | None = None
    # Starts every Redis key, so several deployments (or test runs) can share one Redis.
    redis_prefix: str = Field(default="bollard", min_length=1)
    # The console's and /metrics' token; one you choose must be long enough not to guess.
    admin_token: SecretStr | None = None
    # Keys personal data hashes in the audit log and signs its checkpoints.
    audit_key: SecretStr | None = None
    # The audit writer: a thread of the serving process, or a process of its own (its
    # database work never takes the GIL from the event loop; see audit/process.py).
    # `auto`: a thread, except under `serve --workers N` on SQLite, where every worker
    # sends to one writer process. Measured (bench/README.md): the process costs more
    # CPU and memory a call on one core, so one process keeps the thread.
    audit_writer: Literal["auto", "process", "thread"] = "auto"
    # Set by `bollard serve --workers N` on SQLite for its workers: the address of the
    # one writer process they all send to (audit/process.py `shared_writer`).
    audit_writer_socket: str | None = None
    # Where Bollard keeps what must not live in the database (keys, checkpoints).
    state_dir: Path = Path(".bollard")
    host: str = "127.0.0.1"
    port: int = Field(default=8787, ge=1, le=65535)
    body_max_bytes: int = Field(default=1_000_000, gt=0)
    upstream_connect_timeout: float = Field(default=5.0, gt=0)
    upstream_read_timeout: float = Field(default=30.0, gt=0)
    sandbox_master_mode: Literal["seed", "scoped"] = "seed"
    # Limits: when Redis is unreachable, plain rate limits fail closed unless this is set
    # (credit budgets always fail closed); how often Apollo's usage stats are synced.
    rate_limit_fail_open: bool = False
    usage_sync_seconds: float = Field(default=300.0, ge=0)
    # Admin console: whether /reference is readable without signing in, and how
    # long a console session lasts.
    reference_public: bool = True
    # GET /metrics without the admin token (for a scraper on a private network).
    metrics_public: bool = False
    admin_session_hours: float = Field(default=12.0, gt=0)
    # Held calls: each is POSTed here (Slack-compatible JSON, signed; see
    # bollard.approvals_webhook), with links to the console at public_url.
    approvals_webhook_url: str | None = None
    approvals_webhook_secret: SecretStr | None = None
    # The URL people reach Bollard at (default: http://host:port), for links.
    public_url: str | None = None

    # MCP door: browser Origins allowed besides loopback ones (comma-separated in env).
    mcp_allowed_origins: Annotated[tuple[str, ...], NoDecode] = ()
    # Proxies in front of Bollard whose X-Forwarded-For and X-Forwarded-Proto it believes
    # (comma-separated addresses or networks). None by default: otherwise any local
    # caller could name any address and slip past the sign-in throttle.
    forwarded_allow_ips: Annotated[tuple[str, ...], NoDecode] = ()

    @field_validator(
        "apollo_key_scopes", "mcp_allowed_origins", "forwarded_allow_ips", mode="before"
    )
    @classmethod
    def _split_scopes(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(s.strip() for s in value.split(",") if s.strip())
        return value

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            if entry == "*":
                raise ValueError(
                    "* would believe any caller's X-Forwarded-For (it could choose the address "
                    "it is counted as): name the proxies' addresses or networks"
                )
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not an IP address or network (e.g. 10.0.0.5 or 10.0.0.0/8)"
                ) from None
        return value

    @field_validator("apollo_url", "approvals_webhook_url", "public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value.strip())
        try:
            parts.port  # noqa: B018 - raises ValueError for a port out of range
        except ValueError:
            raise ValueError("has a port that is not a number from 1 to 65535") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                "must be an http:// or https:// URL with a host, e.g. https://api.apollo.io"
            )
        return value.strip()

    @field_validator("admin_token")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        token = value.get_secret_value().strip()  # as a presented token is read
        if len(token) < ADMIN_TOKEN_MIN:
            raise ValueError(
                f"must be at least {ADMIN_TOKEN_MIN} characters, so that nobody guesses it; "
                "make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        return SecretStr(token)

    @property
    def console_url(self) -> str:
        """Where people reach the console: `public_url`, or this server's address."""
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def uses_sandbox(self) -> bool:
        """No Apollo key configured: Bollard runs against its built-in sandbox."""
        return self.apollo_key is None and self.apollo_master_key is None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from the environment, with `BOLLARD_X_FILE` read for each secret X."""
        env = dict(os.environ if environ is None else environ)
        values: dict[str, object] = {}
        for name in SECRET_NAMES:
            file_var = f"BOLLARD_{name.upper()}_FILE"
            if file_var in env and f"BOLLARD_{name.upper()}" not in env:
                try:
                    values[name] = Path(env[file_var]).read_text("utf-8").strip()
                except OSError as exc:
                    raise ConfigError(f"{file_var}: cannot read {env[file_var]!r}: {exc}") from exc
        for key, value in env.items():
            if key.startswith("BOLLARD_") and not key.endswith("_FILE"):
                values.setdefault(key.removeprefix("BOLLARD_").lower(), value)
        values.update(overrides)
        known = {k: v for k, v in values.items() if k in cls.model_fields}
        try:
            return cls.model_validate(known)
        except ValidationError as exc:
            raise ConfigError(_explain(exc)) from None


def _explain(exc: ValidationError) -> str:
    """Each bad setting by its environment variable, what was wrong, and the value given
    (never a secret's)."""
    lines = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        shown = "" if field in SECRET_NAMES else f" (got {error.get('input')!r})"
        lines.append(f"BOLLARD_{field.upper()}: {error['msg']}{shown}")
    return "bad setting: " + "; ".join(lines)
