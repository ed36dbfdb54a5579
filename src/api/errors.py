"""Client-facing errors: every one becomes ``{"error": code, "message": text}``."""

from __future__ import annotations

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

RETRY_AFTER_SECONDS = "1"

# DynamoDB answers that mean "try again shortly", not "your request is wrong".
UNAVAILABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
    }
)
UNAVAILABLE_EXCEPTIONS = (ConnectTimeoutError, ReadTimeoutError, EndpointConnectionError, ConnectionClosedError)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def bad_request(code: str, message: str) -> ApiError:
    return ApiError(400, code, message)


def unavailable(message: str = "the table is throttled or unavailable, retry shortly") -> ApiError:
    return ApiError(503, "unavailable", message, {"Retry-After": RETRY_AFTER_SECONDS})


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, ClientError):
        return error_code(exc) in UNAVAILABLE_CODES
    return isinstance(exc, UNAVAILABLE_EXCEPTIONS)


def is_conditional_failure(exc: BaseException) -> bool:
    return isinstance(exc, ClientError) and error_code(exc) == "ConditionalCheckFailedException"
