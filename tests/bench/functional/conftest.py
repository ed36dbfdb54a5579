"""The baseline handler is held to the real one on the same in-process AWS the handler tests use."""

from tests.functions.functional.conftest import api, cloud, context, stream  # noqa: F401 - fixtures, by name
