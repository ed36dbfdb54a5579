"""What a deployed function is, and the process environment Lambda gives it.

Reserved variables follow the Lambda developer guide, "Defined runtime environment variables"
(https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html): the runtime sets them
and a function's own Environment cannot override them.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from ...invocation import LATEST

#: Keys Lambda refuses in a function's Environment (CreateFunction fails with
#: InvalidParameterValueException); Lambda's moto patch (awslambda/patch.py) can use this set to
#: reject them too.
RESERVED_ENVIRONMENT_KEYS: frozenset[str] = frozenset({
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
    "TZ",
})

# Keys that decide where SDK traffic goes and which credentials it carries. The local cloud owns
# them (through the base environment): a template's Environment must never point a function at
# real AWS, so the function cannot set them even though real Lambda would let it.
_LOCAL_CLOUD_KEYS: frozenset[str] = frozenset({
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_EC2_METADATA_DISABLED",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
})

# Lambda's default PATH (without /opt/bin: this runtime mounts no layers).
_DEFAULT_PATH = "/usr/local/bin:/usr/bin/:/bin"

# Stands in for /var/runtime: the directory holding the runtime's bootstrap (our worker).
RUNTIME_DIR = Path(__file__).resolve().parent


class FrozenEnvironment(dict[str, str]):
    """A read-only ``dict``: still JSON-, pickle- and ``dataclasses.asdict``-friendly."""

    def _read_only(self, *_args: Any, **_kwargs: Any) -> NoReturn:
        raise TypeError("a deployed function's environment is read-only; deploy a new spec")

    __setitem__ = __delitem__ = __ior__ = _read_only  # type: ignore[assignment]
    clear = pop = popitem = setdefault = update = _read_only  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (dict(self),))

    def __copy__(self) -> FrozenEnvironment:
        return self

    def __deepcopy__(self, _memo: dict[int, Any]) -> FrozenEnvironment:
        return self


def is_function_settable(key: str) -> bool:
    """Whether a function's Environment may set ``key`` in the local cloud."""
    if key in RESERVED_ENVIRONMENT_KEYS or key in _LOCAL_CLOUD_KEYS:
        return False
    return not key.startswith("AWS_ENDPOINT_URL")


@dataclass(frozen=True)
class FunctionSpec:
    """One deployed function version as Lambda would run it.

    Equality covers every field: any change (code, handler, environment, limits) means the
    pool must start new execution environments. ``environment`` is excluded from the hash only
    because a mapping is not hashable; it still takes part in ``==``.
    """

    function_name: str
    function_arn: str
    region: str
    handler: str
    code_sha256: str
    code_dir: Path
    environment: Mapping[str, str] = field(default_factory=dict, hash=False)
    timeout_seconds: int = 3
    memory_mb: int = 128
    runtime: str = "python3.13"
    architecture: str = "x86_64"

    def __post_init__(self) -> None:
        # A private read-only copy: a caller mutating its dict must not change a deployed spec.
        object.__setattr__(self, "environment",
                           FrozenEnvironment({str(k): str(v) for k, v in self.environment.items()}))
        object.__setattr__(self, "code_dir", Path(self.code_dir))
        if self.timeout_seconds < 1:
            raise ValueError(f"timeout_seconds must be >= 1, got {self.timeout_seconds}")
        if self.memory_mb < 1:
            raise ValueError(f"memory_mb must be >= 1, got {self.memory_mb}")

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @classmethod
    def from_configuration(cls, configuration: Mapping[str, object], code_dir: Path) -> FunctionSpec:
        """Build a spec from a Lambda ``FunctionConfiguration`` (GetFunction/CreateFunction shape)."""
        arn = str(configuration["FunctionArn"])
        env = configuration.get("Environment") or {}
        variables = env.get("Variables") if isinstance(env, Mapping) else None
        architectures = configuration.get("Architectures") or ["x86_64"]
        return cls(
            function_name=str(configuration["FunctionName"]),
            function_arn=arn,
            region=arn.split(":")[3],
            handler=str(configuration["Handler"]),
            code_sha256=str(configuration.get("CodeSha256", "")),
            code_dir=Path(code_dir),
            environment=dict(variables or {}),
            timeout_seconds=int(configuration.get("Timeout", 3)),  # type: ignore[arg-type]
            memory_mb=int(configuration.get("MemorySize", 128)),  # type: ignore[arg-type]
            runtime=str(configuration.get("Runtime", "python3.13")),
            architecture=str(list(architectures)[0]),  # type: ignore[arg-type]
        )


def new_log_stream_name(now: _dt.datetime | None = None) -> str:
    """A log stream name in Lambda's format: ``YYYY/MM/DD/[$LATEST]<32 hex>``, one per environment."""
    now = now or _dt.datetime.now(_dt.timezone.utc)
    return f"{now:%Y/%m/%d}/[{LATEST}]{uuid.uuid4().hex}"


def execution_environment(spec: FunctionSpec, base_env: Mapping[str, str],
                          log_stream_name: str) -> dict[str, str]:
    """The complete process environment of one execution environment of ``spec``.

    Layering: the local cloud's base environment, then the function's Environment (minus keys it
    may not set), then the variables the Lambda runtime defines. Nothing is inherited from the
    supervisor's own environment.
    """
    env = {str(k): str(v) for k, v in base_env.items()}
    env.update({k: v for k, v in spec.environment.items() if is_function_settable(k)})
    env.setdefault("PATH", _DEFAULT_PATH)
    env.update({
        "_HANDLER": spec.handler,
        "AWS_REGION": spec.region,
        "AWS_DEFAULT_REGION": spec.region,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
        "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": LATEST,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group_name,
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream_name,
        "LAMBDA_TASK_ROOT": str(spec.code_dir),
        "LAMBDA_RUNTIME_DIR": str(RUNTIME_DIR),
        "TZ": ":UTC",
    })
    return env
