"""Errors the runtime raises to its caller (the Lambda API layer maps them to AWS error codes).
The throttle, which API Gateway handles too, is localcloud.invocation.TooManyRequests."""

from __future__ import annotations


class FunctionNotDeployed(KeyError):
    """No running pool for this function ARN (ResourceNotFoundException, HTTP 404)."""

    def __str__(self) -> str:  # KeyError would repr() the argument
        return f"Function not found: {self.args[0] if self.args else ''}"


class InvalidRequestContent(ValueError):
    """The invocation payload is not JSON (InvalidRequestContentException, HTTP 400)."""
