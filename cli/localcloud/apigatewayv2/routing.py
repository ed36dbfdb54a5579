"""Route selection for HTTP APIs: which route key a (method, path) request lands on.

Documented order ("Routing API requests" in "Create routes for HTTP APIs",
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html):
  1. full match for a route and method (a static route beats one with a path variable:
     `GET /pets/dog/1` over `GET /pets/dog/{id}`),
  2. match for a route and method with a greedy path variable (`{proxy+}`),
  3. the `$default` route;
  otherwise `{"message":"Not Found"}`. `ANY` matches every method not defined for a resource, so
  for the same path an explicit method beats `ANY`.

Details the docs leave open, decided here:
- Path specificity outranks the method: among full matches the first segment (left to right)
  where one template has a literal and the other a variable decides; only then GET beats ANY.
- Among greedy routes the longer prefix before `{proxy+}` wins.
- A variable matches exactly one non-empty segment; a greedy variable matches one or more, so
  `/pets/{proxy+}` does not match `/pets` (nor `/{proxy+}` the root `/`).
- Matching is case-sensitive and a trailing slash is significant.
- Path parameters are URL-decoded ("API Gateway decodes URL-encoded request parameters").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable
from urllib.parse import unquote

from .model import DEFAULT_ROUTE_KEY, Route

ANY = "ANY"
_LITERAL, _VARIABLE, _GREEDY = 0, 1, 2


@dataclass(frozen=True)
class RouteMatch:
    route: Route
    path_parameters: dict[str, str]


@dataclass(frozen=True)
class _Template:
    route: Route
    method: str
    # (kind, literal text or variable name) per path segment
    segments: tuple[tuple[int, str], ...]

    @property
    def greedy(self) -> bool:
        return bool(self.segments) and self.segments[-1][0] == _GREEDY


def split_route_key(route_key: str) -> tuple[str, str]:
    """`"GET /pets/{id}"` -> `("GET", "/pets/{id}")`; raises ValueError for `$default` or junk."""
    method, sep, path = route_key.strip().partition(" ")
    if not sep or not path.startswith("/"):
        raise ValueError(f"not a METHOD /path route key: {route_key!r}")
    return method.upper(), path.strip()


def _segments(path: str) -> list[str]:
    return path[1:].split("/") if path.startswith("/") else path.split("/")


def _compile(route: Route) -> _Template:
    method, path = split_route_key(route.route_key)
    parts = _segments(path)
    segments: list[tuple[int, str]] = []
    for index, part in enumerate(parts):
        if part.startswith("{") and part.endswith("+}"):
            if index != len(parts) - 1:
                raise ValueError(f"greedy path variable must be last: {route.route_key!r}")
            segments.append((_GREEDY, part[1:-2]))
        elif part.startswith("{") and part.endswith("}"):
            segments.append((_VARIABLE, part[1:-1]))
        else:
            segments.append((_LITERAL, part))
    return _Template(route, method, tuple(segments))


def _bind(template: _Template, raw_segments: list[str]) -> dict[str, str] | None:
    """Path parameters when the request path fits the template, else None."""
    params: dict[str, str] = {}
    for index, (kind, text) in enumerate(template.segments):
        if kind == _GREEDY:
            rest = raw_segments[index:]
            if not rest or not "/".join(rest):
                return None
            params[text] = unquote("/".join(rest))
            return params
        if index >= len(raw_segments):
            return None
        value = unquote(raw_segments[index])
        if kind == _LITERAL:
            if value != text:
                return None
        elif not value:
            return None
        else:
            params[text] = value
    return params if len(raw_segments) == len(template.segments) else None


def _rank(template: _Template) -> tuple:
    kinds = tuple(kind for kind, _ in template.segments)
    method_rank = 1 if template.method == ANY else 0
    if template.greedy:
        # Longer prefix first; negative length sorts it ahead.
        return (1, -len(kinds), kinds, method_rank)
    return (0, 0, kinds, method_rank)


class RouteTable:
    """The routes of one deployed API, compiled once and matched per request."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self._templates: list[_Template] = []
        self._default: Route | None = None
        for route in routes:
            if route.route_key == DEFAULT_ROUTE_KEY:
                self._default = route
            else:
                self._templates.append(_compile(route))

    def match(self, method: str, path: str) -> RouteMatch | None:
        """Best route for the request, or None (the caller answers 404 Not Found)."""
        method = method.upper()
        raw_segments = _segments(path)
        best: tuple[tuple, _Template, dict[str, str]] | None = None
        for template in self._templates:
            if template.method not in (method, ANY):
                continue
            params = _bind(template, raw_segments)
            if params is None:
                continue
            rank = _rank(template)
            if best is None or rank < best[0]:
                best = (rank, template, params)
        if best is not None:
            return RouteMatch(best[1].route, best[2])
        if self._default is not None:
            return RouteMatch(self._default, {})
        return None


def match_route(routes: Iterable[Route], method: str, path: str) -> RouteMatch | None:
    """One-shot convenience over RouteTable."""
    return RouteTable(routes).match(method, path)
