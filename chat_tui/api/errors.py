"""Typed API errors mapped from HTTP status codes and OpenAI's error object."""

from __future__ import annotations

import json
from typing import Any

from chat_tui.core.text import redact


class APIError(Exception):
    """Base class. `message` is what the server (or the transport) said, ready to show."""

    kind = "error"
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        type: str | None = None,
        param: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
        body: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type
        self.param = param
        self.code = code
        self.retry_after = retry_after
        self.body = body

    def __str__(self) -> str:
        prefix = f"{self.title} (HTTP {self.status})" if self.status else self.title
        return redact(f"{prefix}: {self.message}")

    @property
    def title(self) -> str:
        return _TITLES.get(type(self), "API error")


class BadRequestError(APIError):
    kind = "bad_request"


class AuthenticationError(APIError):
    kind = "auth"


class PermissionDeniedError(APIError):
    kind = "permission"


class NotFoundError(APIError):
    kind = "not_found"


class ContextLengthError(BadRequestError):
    kind = "context_length"


class RateLimitError(APIError):
    kind = "rate_limit"
    retryable = True


class ServerError(APIError):
    kind = "server"
    retryable = True


class RetryableStatusError(APIError):
    """408 and 409: OpenAI's SDK retries these too."""

    kind = "retryable_status"
    retryable = True


class APITimeoutError(APIError):
    kind = "timeout"
    retryable = True


class APIConnectionError(APIError):
    kind = "connection"
    retryable = True


class StreamError(APIError):
    """The stream itself went wrong: an error event, a malformed chunk, a dropped connection."""

    kind = "stream"


_TITLES: dict[type, str] = {
    BadRequestError: "Bad request",
    AuthenticationError: "Invalid API key",
    PermissionDeniedError: "No access",
    NotFoundError: "Not found",
    ContextLengthError: "Context length exceeded",
    RateLimitError: "Rate limited",
    ServerError: "Server error",
    RetryableStatusError: "Request conflict/timeout",
    APITimeoutError: "Timed out",
    APIConnectionError: "Cannot connect",
    StreamError: "Stream failed",
}


def _error_fields(payload: Any) -> dict[str, Any] | None:
    """OpenAI's `{"error": {...}}`, or the bare object some servers send."""
    if not isinstance(payload, dict):
        return None
    err = payload.get("error", payload)
    if isinstance(err, str):
        return {"message": err}
    if isinstance(err, dict) and ("message" in err or "code" in err or "type" in err):
        return err
    return None


def error_from_payload(payload: Any, *, status: int | None = None, retry_after: float | None = None) -> APIError:
    """Build the typed error for an OpenAI error object (from a body or a mid-stream event)."""
    fields = _error_fields(payload) or {}
    message = str(fields.get("message") or "").strip() or "(no message)"
    code = fields.get("code")
    code = str(code) if code is not None else None
    etype = fields.get("type")
    param = fields.get("param")
    cls = _class_for(status, code, etype, message)
    return cls(message, status=status, type=etype, param=param, code=code, retry_after=retry_after)


def error_from_response(status: int, body: bytes, content_type: str = "", retry_after: float | None = None) -> APIError:
    """Map an HTTP error response. Non-JSON bodies (HTML error pages, proxies) become a short text."""
    text = body.decode("utf-8", "replace")
    payload: Any = None
    if text.strip():
        try:
            payload = json.loads(text)
        except ValueError:
            payload = None
    if _error_fields(payload) is not None:
        err = error_from_payload(payload, status=status, retry_after=retry_after)
        err.body = text
        return err
    cls = _class_for(status, None, None, text)
    return cls(_summarise_body(text, content_type, status), status=status, retry_after=retry_after, body=text)


def _class_for(status: int | None, code: str | None, etype: str | None, message: str) -> type[APIError]:
    lowered = message.lower()
    if code == "context_length_exceeded" or "maximum context length" in lowered or "context length" in lowered and "exceed" in lowered:
        return ContextLengthError
    if code in ("invalid_api_key",) or status == 401:
        return AuthenticationError
    if status == 403:
        return PermissionDeniedError
    if status == 404 or code == "model_not_found":
        return NotFoundError
    if status == 429 or code == "rate_limit_exceeded":
        return RateLimitError
    if status in (408, 409):
        return RetryableStatusError
    if status is not None and status >= 500:
        return ServerError
    if status is not None and 400 <= status < 500:
        return BadRequestError
    if etype in ("server_error",):
        return ServerError
    return StreamError if status is None else APIError


def _summarise_body(text: str, content_type: str, status: int) -> str:
    """A one-line description of a non-JSON error body (an HTML page from a proxy, say)."""
    stripped = text.strip()
    if not stripped:
        return f"empty response body (HTTP {status})"
    if "html" in content_type.lower() or stripped.lower().startswith(("<!doctype", "<html")):
        import re

        title = re.search(r"<title[^>]*>(.*?)</title>", stripped, re.I | re.S)
        h1 = re.search(r"<h1[^>]*>(.*?)</h1>", stripped, re.I | re.S)
        found = (title or h1).group(1).strip() if (title or h1) else "no title"
        found = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", found))
        return f"the server sent an HTML page instead of JSON: {found[:200]}"
    first = " ".join(stripped.split())
    return f"non-JSON response: {first[:200]}"
