"""Lambda on moto 5.2.5: functions run, and the data planes hear about every change.

- Invoke runs the function's deployed code in the local Lambda runtime (moto without Docker
  returns a canned error payload), with FunctionError when the handler failed;
- creating, updating (code or configuration) or deleting a function tells the runtime, so a
  stack update that changes code or environment takes effect on the next invocation;
- event source mappings are served by the local pollers, not by moto's delivery (which runs
  nothing and deletes the stream records it touched), so their changes are announced too.
"""

from __future__ import annotations

import json
from typing import Any

from moto.awslambda.models import LambdaBackend, LambdaFunction

from .hooks import hooks


def _invoke(self: LambdaFunction, body: str, request_headers: Any, response_headers: Any) -> bytes:
    if hooks.invoke is None:
        raise RuntimeError("no local Lambda runtime is attached to this control plane")
    event = json.loads(body) if body else {}
    payload, function_error = hooks.invoke(self.function_arn, event)
    if function_error:
        response_headers["x-amz-function-error"] = function_error
    invocation_type = request_headers.get("x-amz-invocation-type", "RequestResponse")
    if invocation_type == "Event":
        response_headers["status"] = 202
        return b""
    return payload


def _announcing(method_name: str) -> None:
    original = getattr(LambdaFunction, method_name)

    def method(self: LambdaFunction, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        hooks.function_changed(self.account_id, self.region, self.function_name)
        return result

    setattr(LambdaFunction, method_name, method)


def _patch_backend() -> None:
    create_function = LambdaBackend.create_function
    delete_function = LambdaBackend.delete_function

    def create(self: LambdaBackend, spec: dict[str, Any]) -> LambdaFunction:
        fn = create_function(self, spec)
        hooks.function_changed(self.account_id, self.region_name, fn.function_name)
        return fn

    def delete(self: LambdaBackend, function_name: str, qualifier: str | None = None) -> None:
        fn = self.get_function(function_name)
        delete_function(self, function_name, qualifier)
        if qualifier is None:
            hooks.function_deleted(self.account_id, self.region_name, fn.function_name)

    LambdaBackend.create_function = create  # type: ignore[method-assign]
    LambdaBackend.delete_function = delete  # type: ignore[method-assign]

    for name in ("create_event_source_mapping", "update_event_source_mapping", "delete_event_source_mapping"):
        original = getattr(LambdaBackend, name)

        def announced(self: LambdaBackend, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            result = _original(self, *args, **kwargs)
            hooks.event_source_mappings_changed(self.account_id, self.region_name)
            return result

        setattr(LambdaBackend, name, announced)


def install() -> None:
    LambdaFunction.invoke = _invoke  # type: ignore[method-assign]
    for name in ("update_configuration", "update_function_code"):
        _announcing(name)
    _patch_backend()
