"""The one error hierarchy and the one place that turns errors into HTTP responses.

Every error a client can see is an ``AppError`` subclass with a stable machine ``code`` and an HTTP
status. Responses have the shape ``{"error": {"code", "message", "details"}}`` and never contain a
stack trace or SQL. 422 is reserved for requests that are malformed (not JSON, wrong types, missing
fields); a well-formed request that breaks a business rule gets its own code and status.
"""

from __future__ import annotations

from typing import Any, ClassVar

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = structlog.get_logger(__name__)


class AppError(Exception):
    """Base of every error a client may see."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    default_message: ClassVar[str] = "The request cannot be carried out."
    keeps_changes: ClassVar[bool] = False
    """True for the few refusals whose bookkeeping must survive them (a wrong SMS code counts as a
    try; a taken plate leaves a transfer request): the request's transaction commits, then the error
    is returned. Everything else an error touched is rolled back."""

    def __init__(self, message: str | None = None, **details: Any) -> None:
        self.message = message or self.default_message
        self.details = details
        super().__init__(self.message)

    def headers(self) -> dict[str, str] | None:
        return None


class InvalidRequest(AppError):
    status = 400
    code = "invalid_request"


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"
    default_message = "Authentication is required."

    def headers(self) -> dict[str, str] | None:
        return {"WWW-Authenticate": "Bearer"}


class PermissionDenied(AppError):
    status = 403
    code = "permission_denied"
    default_message = "Your role does not allow this."


class NotFound(AppError):
    status = 404
    code = "not_found"
    default_message = "Not found."


class Conflict(AppError):
    status = 409
    code = "conflict"


class TooManyRequests(AppError):
    status = 429
    code = "rate_limited"
    default_message = "Too many requests; try again later."

    def __init__(self, message: str | None = None, *, retry_after: int = 1, **details: Any) -> None:
        super().__init__(message, retry_after=retry_after, **details)
        self.retry_after = max(1, retry_after)

    def headers(self) -> dict[str, str] | None:
        return {"Retry-After": str(self.retry_after)}


class ServiceUnavailable(AppError):
    status = 503
    code = "service_unavailable"
    default_message = "The service is temporarily unavailable."


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


async def app_error_response(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, AppError):
        raise TypeError(exc)
    log.info("request_failed", code=exc.code, status=exc.status)
    return JSONResponse(error_body(exc.code, exc.message, exc.details), exc.status, headers=exc.headers())


async def validation_error_response(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, RequestValidationError):
        raise TypeError(exc)
    problems = [
        {
            "loc": [str(part) for part in error.get("loc", ())],
            "msg": error.get("msg", ""),
            "type": error.get("type", ""),
        }
        for error in exc.errors()
    ]
    if any(problem["type"] == "json_invalid" for problem in problems):
        code, message = "malformed_json", "The request body is not valid JSON."
    else:
        code, message = "validation_error", "The request is malformed."
    log.info("request_malformed", code=code, problems=problems)
    return JSONResponse(error_body(code, message, {"errors": problems}), 422)


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


async def _http_error_response(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, StarletteHTTPException):
        raise TypeError(exc)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else "The request cannot be carried out."
    return JSONResponse(error_body(code, message), exc.status_code, headers=exc.headers)


def internal_error_response() -> JSONResponse:
    """What a client sees of a bug: a code and the request id (in the header), nothing of the cause."""
    return JSONResponse(
        error_body("internal_error", "An unexpected error occurred; it has been logged."), 500
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, app_error_response)
    app.add_exception_handler(RequestValidationError, validation_error_response)
    app.add_exception_handler(StarletteHTTPException, _http_error_response)
    # Unexpected exceptions are answered by the request-context middleware, which also logs them
    # with the request id (forecourt.kit.request_context).
