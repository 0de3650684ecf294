"""ASGI middleware counting and timing HTTP requests by route template.

    import <stack>_metrics as metrics

    app = MetricsMiddleware(app,
                            requests=metrics.http_requests_total,
                            duration=metrics.http_request_duration_seconds)

Plain ASGI: it works with Starlette and FastAPI (`app.add_middleware(MetricsMiddleware, requests=..., duration=...)`)
without importing either.

The `route` label is the route *template*, never the raw path, so that
`/api/approvals/123` and `/api/approvals/456` are one series. The router
announces the route it matched by putting it in the ASGI scope under "route"
(FastAPI does, for every APIRoute); the middleware reads the scope after the
app has handled the request and takes `path_format` (converters stripped,
`/items/{id}`), else `path`. When no router announced a route (a 404, a plain
Starlette Route, another framework) it asks `route_template(scope)` if one was
given, and otherwise records UNMATCHED_ROUTE. The status is the one the app
sent; an app that raised before sending one is recorded as 500.

Scrapes are not traffic: a request to `metrics_path` (default METRICS_PATH,
"/metrics"; with or without a trailing slash, below the scope's `root_path`
or not) passes through unrecorded, whatever answers it - the exposition, or a
router's redirect. `metrics_path=None` records every request.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from .instruments import Instrument

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# The route of a request no router claimed: one bounded value, never the path.
UNMATCHED_ROUTE = "__unmatched__"

_LABELS = ("method", "route", "status")

# Where the exposition is served in the application (and scraped).
METRICS_PATH = "/metrics"


def _route_path(scope: Scope) -> str:
    """The path below the scope's root_path (as Starlette routes it): ASGI servers
    that honour a root_path include it in `path`."""
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and (len(path) == len(root) or path[len(root)] == "/"):
        return path[len(root):]
    return path


def route_from_scope(scope: Scope) -> str | None:
    """The route template a router stored in the scope, if any."""
    route = scope.get("route")
    if route is None:
        return None
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) and template else None


class MetricsMiddleware:
    """Counts requests into `requests` and times them into `duration`."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        requests: Instrument,
        duration: Instrument,
        route_template: Callable[[Scope], str | None] | None = None,
        metrics_path: str | None = METRICS_PATH,
    ) -> None:
        for family in (requests, duration):
            if set(family.label_names) != set(_LABELS):  # a start-up error, never a request error
                raise TypeError(f"MetricsMiddleware: {family.name} must have exactly the labels {_LABELS}, not {family.label_names}")
        self.app = app
        self._requests = requests
        self._duration = duration
        self._route_template = route_template
        if metrics_path is not None and not metrics_path.startswith("/"):
            raise ValueError(f"MetricsMiddleware: metrics_path must start with '/', not {metrics_path!r}")
        self.metrics_path = metrics_path
        self._skip: frozenset[str] = frozenset() if metrics_path is None else frozenset({metrics_path.rstrip("/") or "/", metrics_path.rstrip("/") + "/"})
        # Label order of each family, so values can be passed as a tuple.
        self._order = {id(f): tuple(_LABELS.index(name) for name in f.label_names) for f in (requests, duration)}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http" or self._is_scrape(scope):  # websockets, lifespan and scrapes pass through untouched
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message.get("type") == "http.response.start":
                status = message.get("status", 500)
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            self._record(scope, status, time.perf_counter() - start)

    def _is_scrape(self, scope: Scope) -> bool:
        if not self._skip:
            return False
        path = scope.get("path", "")
        return path in self._skip or _route_path(scope) in self._skip

    def _route(self, scope: Scope) -> str:
        template = route_from_scope(scope)
        if template is None and self._route_template is not None:
            template = self._route_template(scope)
        return template or UNMATCHED_ROUTE

    def _record(self, scope: Scope, status: int, elapsed: float) -> None:
        try:
            values = (scope.get("method", "GET"), self._route(scope), str(status))
            requests, duration = self._requests, self._duration
            requests._apply("inc", 1, tuple(values[i] for i in self._order[id(requests)]))
            duration._apply("observe", elapsed, tuple(values[i] for i in self._order[id(duration)]))
        except Exception as exc:  # e.g. a route_template callback that raised
            self._requests._internal.failed(self._requests.name, "middleware", exc)


__all__ = ["METRICS_PATH", "MetricsMiddleware", "UNMATCHED_ROUTE", "route_from_scope"]
