"""The local Lambda runtime: deployed Python functions run "as deployed" in worker processes.

A function runs from its extracted deployment package with its Handler, Environment, timeout,
memory setting and region, one worker process per execution environment. Each worker uses the
supervisor's interpreter (``sys.executable``): ``sys.path`` is the package first, then that
interpreter's own site-packages, which stand in for the runtime's boto3 and for layers such as
Powertools. No layer is mounted (the Lambda API serves Powertools' public layer for `sam local`
only: ../public_layers.py), and ``Runtime`` only labels the environment
(``AWS_EXECUTION_ENV``): the Python version is the supervisor's.

Entry points: :class:`LambdaRuntime` (the registry the supervisor owns), :class:`FunctionPool`,
:class:`FunctionSpec`, :func:`extract_code`. An invocation returns a
localcloud.invocation.InvokeOutcome, or raises its TooManyRequests when no environment frees up.
"""

from __future__ import annotations

from .code import UnsafeZipError, code_sha256, extract_code, sha256_hex
from .errors import FunctionNotDeployed, InvalidRequestContent
from .pool import FunctionPool
from .registry import LambdaRuntime
from .spec import RESERVED_ENVIRONMENT_KEYS, FunctionSpec, execution_environment

__all__ = [
    "RESERVED_ENVIRONMENT_KEYS",
    "FunctionNotDeployed",
    "FunctionPool",
    "FunctionSpec",
    "InvalidRequestContent",
    "LambdaRuntime",
    "UnsafeZipError",
    "code_sha256",
    "execution_environment",
    "extract_code",
    "sha256_hex",
]
