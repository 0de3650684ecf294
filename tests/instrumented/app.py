"""The test application: routes like the Sergas API's, instrumented with sergas_metrics.

A tiny router stands in for FastAPI's: on a match it stores the route in
scope["route"] (with `path_format`), which is what MetricsMiddleware reads.
"""

from __future__ import annotations

import asyncio
import os
import re
from typing import Any

import sergas_metrics as metrics
from sergas_metrics import MetricsMiddleware, metrics_app, track


class Route:
    def __init__(self, path: str, methods: tuple[str, ...], endpoint: Any) -> None:
        self.path = path
        self.path_format = path
        self.methods = methods
        self.endpoint = endpoint
        self.regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$")


class Router:
    def __init__(self, routes: list[Route]) -> None:
        self.routes = routes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        for route in self.routes:
            match = route.regex.match(scope["path"])
            if match:
                scope["route"] = route
                scope["path_params"] = match.groupdict()
                if scope["method"] not in route.methods:
                    await respond(send, 405, b"method not allowed")
                    return
                await route.endpoint(scope, receive, send)
                return
        await respond(send, 404, b"not found")


async def respond(send: Any, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})


async def account(scope: dict[str, Any], receive: Any, send: Any) -> None:
    metrics.sergas_cache_hits_total.inc(cache="session")
    await asyncio.sleep(0.001)  # let other connections interleave
    await respond(send, 200, str(os.getpid()).encode())


@track(metrics.sergas_briefs_generated_total)
def build_brief(fail: bool) -> str:
    if fail:
        raise RuntimeError("brief failed")
    return "brief"


async def run_agent(scope: dict[str, Any], receive: Any, send: Any) -> None:
    agent = scope["path_params"]["agent"]
    fail = b"fail=1" in scope["query_string"]
    # Not caught: the middleware must record a 500 and the server answer one.
    async with track(metrics.sergas_agent_executions_total, metrics.sergas_agent_execution_duration_seconds, agent=agent):
        await asyncio.sleep(0)
        if fail:
            raise RuntimeError("agent failed")
    await respond(send, 200, str(os.getpid()).encode())


async def brief(scope: dict[str, Any], receive: Any, send: Any) -> None:
    fail = b"fail=1" in scope["query_string"]
    try:
        build_brief(fail)
    except RuntimeError:
        await respond(send, 503, str(os.getpid()).encode())
        return
    await respond(send, 200, str(os.getpid()).encode())


_exposition = metrics_app()


async def expose(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await _exposition(scope, receive, send)


def build() -> Any:
    router = Router([
        Route("/api/accounts/{account_id}", ("GET",), account),
        Route("/api/agents/{agent}/run", ("POST",), run_agent),
        Route("/api/briefs", ("POST",), brief),
        Route("/metrics", ("GET",), expose),
    ])
    return MetricsMiddleware(router, requests=metrics.http_requests_total, duration=metrics.http_request_duration_seconds)
