"""What every route depends on: who is asking (session, role, CSRF), the shared query
parameters, and the error a route raises. Kept apart from the routes so that each group of
routes (api.py, api_monitor.py) declares its parameters the same way."""

from __future__ import annotations

import datetime as dt
import math
from enum import StrEnum
from typing import Annotated, Any

import pyarrow as pa
from fastapi import Depends, Query, Request

from custlens.serve.auth import User

SESSION, CSRF = "custlens_session", "custlens_csrf"
MAX_SIZE = 500



class Lang(StrEnum):
    zh = "zh"
    en = "en"


class Download(StrEnum):
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


class ApiError(Exception):
    def __init__(self, status: int, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.hint = status, message, hint


# ---- who is asking ------------------------------------------------------------------------
async def signed_in(request: Request) -> User:
    found = request.app.state.api.sessions.get(request.cookies.get(SESSION))
    if found is None:
        raise ApiError(401, "not signed in", "POST /api/login")
    return found[0]


async def csrf(request: Request) -> None:
    """Every state-changing request carries the CSRF token in a header (double submit)."""
    sent = request.headers.get("x-csrf-token", "")
    found = request.app.state.api.sessions.get(request.cookies.get(SESSION))
    expected = found[1] if found else request.cookies.get(CSRF, "")
    if not expected or not sent or sent != expected:
        raise ApiError(403, "missing or wrong CSRF token", "send the X-CSRF-Token header")


def address(request: Request) -> str:
    return request.client.host if request.client else "?"


def role(*roles: str):
    async def check(request: Request, user: Annotated[User, Depends(signed_in)]) -> User:
        if user.role not in roles:
            request.app.state.api.audit.event("denied", user.name, address(request), request.url.path)
            raise ApiError(403, f"not for the {user.role} role")
        return user
    return check


Anyone = Annotated[User, Depends(signed_in)]
# the analyses: admins and analysts. Operators see their action lists and those
# customers' profiles only (README, Security), so they are let into those routes alone.
Analysts = Annotated[User, Depends(role("admin", "analyst"))]
Staff = Annotated[User, Depends(role("admin", "analyst", "operator"))]
Admins = Annotated[User, Depends(role("admin"))]
LangQ = Annotated[Lang | None, Query(description="zh or en (headings, names)")]
FormatQ = Annotated[Download, Query(alias="format", description="json, or a csv/xlsx download")]
PageQ = Annotated[int, Query(ge=1, le=1_000_000)]
StartQ = Annotated[dt.date | None, Query(description="first local date, YYYY-MM-DD")]
EndQ = Annotated[dt.date | None, Query(description="last local date, YYYY-MM-DD")]
SizeQ = Annotated[int, Query(ge=1, le=MAX_SIZE)]


def check_range(start: dt.date | None, end: dt.date | None) -> None:
    if start and end and start > end:
        raise ApiError(400, f"start {start} is after end {end}")


def range_sql(column: str, start: dt.date | None, end: dt.date | None) -> str:
    parts = [f"{column} >= DATE '{start}'" if start else "", f"{column} <= DATE '{end}'" if end else ""]
    return " AND ".join(p for p in parts if p) or "true"


def json_safe(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


def json_rows(table: pa.Table) -> list[dict[str, Any]]:
    return [{k: json_safe(v) for k, v in row.items()} for row in table.to_pylist()]


def lang_of(api: Any, lang: Lang | None) -> str:
    return (lang or api.ws.settings.lang).value if isinstance(lang, Lang) else api.ws.settings.lang


