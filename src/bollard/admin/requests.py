"""What the admin API's handlers read off a request: its JSON body, checked
against a pydantic model (a bad one is InvalidInput, naming each field that was
wrong), and the app's gateway and engine."""

from __future__ import annotations

import json
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine
from starlette.requests import Request

from bollard.admin.problems import InvalidInput
from bollard.gateway import Gateway

BODY_MAX_BYTES = 64_000
M = TypeVar("M", bound=BaseModel)


def gateway_of(request: Request) -> Gateway:
    """The gateway the app was built with."""
    gateway: Gateway = request.app.state.gateway
    return gateway


def engine_of(request: Request) -> Engine:
    """The engine the app was built with."""
    engine: Engine = request.app.state.engine
    return engine


async def read_body(request: Request, model: type[M], empty_ok: bool = False) -> M:
    """The body as `model` (an empty one as its defaults, where `empty_ok`), or InvalidInput."""
    raw = await request.body()
    if len(raw) > BODY_MAX_BYTES:
        raise InvalidInput(f"the body is larger than {BODY_MAX_BYTES} bytes")
    if not raw.strip() and empty_ok:
        return model()
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # a huge integer, or nested too deep
        raise InvalidInput(f"the body is not JSON Bollard will read: {exc}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(_validation_message(exc)) from exc


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{where}: {err['msg']}")
    return "invalid body: " + "; ".join(parts)
