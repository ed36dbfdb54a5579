"""Lambda on moto 5.2.5: functions run, and the data planes hear about every change.

- Invoke runs the function's deployed code in the local Lambda runtime (moto without Docker
  returns a canned error payload), with FunctionError when the handler failed;
- creating, updating (code or configuration) or deleting a function tells the runtime, so a
  stack update that changes code or environment takes effect on the next invocation;
- layers published from other accounts (Powertools') are accepted by ARN, and a template's Layers
  and Architectures reach the function's configuration (moto's model drops them);
- event source mappings are served by the local pollers, not by moto's delivery (which runs
  nothing and deletes the stream records it touched), so their changes are announced too;
- a stack update of a function with inline code (Code.ZipFile) zips the source, as the create does;
- GetLayerVersionByArn answers as Lambda does (moto raises NotImplementedError, which reached an
  AWS client as an HTML 500): the layer version, ResourceNotFoundException for one that does not
  exist here (another account's), InvalidParameterValueException for a malformed ARN;
- GetLayerVersion and GetLayerVersionByArn answer for Powertools' public layer (the ARN the SSM
  public parameters hand out, ssm/patch.py) as AWS does, its Content.Location a download URL on
  this endpoint: `sam local` downloads every layer before it runs a function. The content is built
  on first request (public_layers.py); a failed build is a ServiceException (500 JSON). Any other
  account's layer is a ResourceNotFoundException, for GetLayerVersion too.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from urllib.parse import unquote

from moto.awslambda.exceptions import (
    InvalidParameterValueException,
    LambdaClientError,
    UnknownLayerException,
    UnknownLayerVersionException,
)
from moto.awslambda.models import LambdaBackend, LambdaFunction
from moto.awslambda.responses import LambdaResponse

from ..hooks import hooks
from . import public_layers


def _invoke(self: LambdaFunction, body: str, request_headers: Any, response_headers: Any) -> bytes:
    if hooks.invoke is None:
        raise RuntimeError("no local Lambda runtime is attached to this control plane")
    event = json.loads(body) if body else {}
    outcome = hooks.invoke(self.function_arn, event)
    if outcome.function_error:
        response_headers["x-amz-function-error"] = outcome.function_error
    invocation_type = request_headers.get("x-amz-invocation-type", "RequestResponse")
    if invocation_type == "Event":
        response_headers["status"] = 202
        return b""
    return outcome.payload


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


def _update_from_cloudformation(original: Any) -> Any:
    def update(cls: type, original_resource: LambdaFunction, new_resource_name: str,
               cloudformation_json: dict[str, Any], account_id: str, region_name: str) -> LambdaFunction:
        # Code.ZipFile in a template (SAM's InlineCode) is the handler's source text; moto zips it on
        # create but hands the text to the base64 zip decoder on update, which fails the stack update.
        properties = cloudformation_json["Properties"]
        code = properties.get("Code") or {}
        if isinstance(code.get("ZipFile"), str):
            zipped = base64.b64encode(LambdaFunction._create_zipfile_from_plaintext_code(code["ZipFile"]))
            properties = {**properties, "Code": {**code, "ZipFile": zipped}}
            cloudformation_json = {**cloudformation_json, "Properties": properties}
        fn = original.__func__(cls, original_resource, new_resource_name, cloudformation_json, account_id,
                               region_name)
        return _template_only_properties(fn, cloudformation_json["Properties"])

    return classmethod(update)


def _template_only_properties(fn: LambdaFunction, properties: dict[str, Any]) -> LambdaFunction:
    """Layers and Architectures from the template: moto's CloudFormation model drops both."""
    if "Layers" in properties:
        fn.layers = fn._get_layers_data(list(properties["Layers"]))
    if properties.get("Architectures"):
        fn.architectures = list(properties["Architectures"])
    return fn


def _create_from_cloudformation(original: Any) -> Any:
    def create(cls: type, resource_name: str, cloudformation_json: dict[str, Any], account_id: str,
               region_name: str, **kwargs: Any) -> LambdaFunction:
        fn = original.__func__(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        return _template_only_properties(fn, cloudformation_json["Properties"])

    return classmethod(create)


def _layers_of_other_accounts(original: Any) -> Any:
    """Public layers (Powertools' is published from account 017000801446) exist in AWS but not in
    the local account; a layer of another account is taken as it is, one of this account must exist."""

    def get_layers_data(self: LambdaFunction, layers_versions_arns: list[str]) -> list[dict[str, Any]]:
        own = [arn for arn in layers_versions_arns if arn.split(":")[4] == self.account_id]
        known = {layer["Arn"]: layer for layer in original(self, own)} if own else {}
        return [known.get(arn) or {"Arn": arn, "CodeSize": 0} for arn in layers_versions_arns]

    return get_layers_data


# "arn:aws:lambda:<region>:<account>:layer:<name>" (GetLayerVersion's LayerName may be one), and with
# ":<version>" GetLayerVersionByArn's Arn pattern.
_LAYER_ARN = (r"arn:[a-z-]+:lambda:[a-z]{2}(?:-[a-z]+)+-\d:(?P<account>\d{12}):layer:"
              r"(?P<name>[a-zA-Z0-9_-]+)")
_LAYER_NAME_ARN = re.compile(_LAYER_ARN)
_LAYER_VERSION_ARN = re.compile(_LAYER_ARN + r":(?P<version>[0-9]+)")


class LayerBuildFailed(LambdaClientError):
    """Lambda's answer to a failure on its side (HTTP 500, JSON like every Lambda error)."""

    code = 500

    def __init__(self, message: str):
        super().__init__("ServiceException", message)


def _endpoint_url(response: LambdaResponse) -> str:
    # The URL the caller reached this endpoint by (a container calls it host.docker.internal); the
    # endpoint's BrowserGuard has already refused any Host name it does not serve.
    host = response.headers.get("Host")
    return f"http://{host}" if host else hooks.endpoint_url


def _layer_of_another_account(response: LambdaResponse, arn: str) -> str:
    """Another account's layer version: Powertools' public layer is served, any other is not here."""
    layer = public_layers.find(arn)
    if layer is None:
        raise UnknownLayerVersionException([arn])
    try:
        return json.dumps(public_layers.layer_version(layer, _endpoint_url(response)))
    except public_layers.LayerBuildError as error:
        raise LayerBuildFailed(str(error)) from None


def get_layer_version_by_arn(self: LambdaResponse) -> str:
    arn = self._get_param("Arn") or ""
    found = _LAYER_VERSION_ARN.fullmatch(arn)
    if found is None:
        raise InvalidParameterValueException(f"1 validation error detected: Value '{arn}' at 'arn' failed to satisfy "
                                             f"constraint: Member must be a layer version ARN")
    if found["account"] != self.current_account:
        return _layer_of_another_account(self, arn)
    try:
        layer = self.backend.get_layer_version(found["name"], found["version"])
    except (UnknownLayerException, UnknownLayerVersionException):
        raise UnknownLayerVersionException([arn]) from None
    return json.dumps(layer.get_layer_version())


def _get_layer_version(original: Any) -> Any:
    """GET /2018-10-31/layers/<LayerName>/versions/<n>: another account's layer ARN as
    GetLayerVersionByArn answers it; this account's layers as moto does."""

    def get_layer_version(self: LambdaResponse) -> str:
        parts = self.path.split("/")
        layer_name, version = unquote(parts[-3]), parts[-1]
        if not version.isdigit():  # moto's int() would fail into an HTML 500
            raise InvalidParameterValueException(f"VersionNumber must be a number, not '{version}'")
        other = _LAYER_NAME_ARN.fullmatch(layer_name)
        if other is not None and other["account"] != self.current_account:
            return _layer_of_another_account(self, f"{layer_name}:{int(version)}")
        return original(self)

    return get_layer_version


def install() -> None:
    LambdaResponse.get_layer_version_by_arn = get_layer_version_by_arn  # type: ignore[attr-defined]
    LambdaResponse.get_layer_version = _get_layer_version(  # type: ignore[method-assign]
        LambdaResponse.get_layer_version)
    LambdaFunction._get_layers_data = _layers_of_other_accounts(  # type: ignore[method-assign]
        LambdaFunction._get_layers_data)
    LambdaFunction.invoke = _invoke  # type: ignore[method-assign]
    LambdaFunction.update_from_cloudformation_json = _update_from_cloudformation(  # type: ignore[assignment]
        LambdaFunction.update_from_cloudformation_json)
    LambdaFunction.create_from_cloudformation_json = _create_from_cloudformation(  # type: ignore[assignment]
        LambdaFunction.create_from_cloudformation_json)
    for name in ("update_configuration", "update_function_code"):
        _announcing(name)
    _patch_backend()
