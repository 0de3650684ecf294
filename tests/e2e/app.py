"""The instrumented app of the live-stack tests, served by uvicorn on 127.0.0.1.

It records through the generated `sergas_metrics` module and its ASGI
middleware, exactly as the Sergas application does, and serves /metrics.
Faults are injected through /control/... endpoints, which sit outside the
middleware so that driving the test never counts as application traffic:

    POST /control/errors?every=N            every Nth /api/accounts request answers 503 (0: none)
    POST /control/slow?seconds=S            every /api/accounts request takes S seconds more (0: none)
    POST /control/inc?metric=NAME&by=X&L=V  add X to a counter or gauge of sergas_metrics, labels L=V
    GET  /control/stats                     requests served and failed so far

Usage: python app.py --port PORT
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any
from urllib.parse import parse_qsl

import uvicorn

import sergas_metrics as metrics
from sergas_metrics import MetricsMiddleware, metrics_app

ROUTES = ("/api/accounts", "/health")

# Series the scenarios increment, created at 0 at start-up as an app does for
# the label values it knows: rate() only sees increments after a first sample.
KNOWN_SERIES: tuple[tuple[Any, dict[str, str]], ...] = (
    (metrics.sergas_approvals_completed_total, {"decision": "approved"}),
    (metrics.sergas_approval_timeouts_total, {}),  # label-less: exposed from import on
    (metrics.sergas_cache_hits_total, {"cache": "session"}),
    (metrics.sergas_cache_misses_total, {"cache": "session"}),
    (metrics.sergas_sse_disconnects_total, {"stream": "approvals", "reason": "timeout"}),
    (metrics.sergas_sse_disconnects_total, {"stream": "approvals", "reason": "client_closed"}),
    (metrics.sergas_sse_connections_active, {"stream": "approvals"}),
)


class State:
    fail_every = 0
    slow_seconds = 0.0
    served = 0
    failed = 0


async def _respond(send: Any, status: int, body: bytes, content_type: bytes = b"text/plain") -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def api(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The application proper: what the middleware counts."""
    path = scope["path"]
    if path == "/api/accounts":
        State.served += 1
        if State.slow_seconds:
            await asyncio.sleep(State.slow_seconds)
        if State.fail_every and State.served % State.fail_every == 0:
            State.failed += 1
            await _respond(send, 503, b"upstream unavailable")
            return
        await _respond(send, 200, b'{"accounts": []}', b"application/json")
    elif path == "/health":
        await _respond(send, 200, b"ok")
    else:
        await _respond(send, 404, b"not found")


def _route(scope: dict[str, Any]) -> str | None:
    path = scope["path"]
    return path if path in ROUTES else None


instrumented = MetricsMiddleware(
    api,
    requests=metrics.http_requests_total,
    duration=metrics.http_request_duration_seconds,
    route_template=_route,
)
exposition = metrics_app()


async def control(scope: dict[str, Any], receive: Any, send: Any) -> None:
    params = dict(parse_qsl(scope.get("query_string", b"").decode()))
    action = scope["path"].removeprefix("/control/")
    if action == "errors":
        State.fail_every = int(params.get("every", "0"))
    elif action == "slow":
        State.slow_seconds = float(params.get("seconds", "0"))
    elif action == "inc":
        instrument = getattr(metrics, params.pop("metric"))
        amount = float(params.pop("by", "1"))
        instrument.inc(amount, **params)
    elif action != "stats":
        await _respond(send, 404, b"unknown control")
        return
    stats = {"served": State.served, "failed": State.failed, "fail_every": State.fail_every}
    await _respond(send, 200, json.dumps(stats).encode(), b"application/json")


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    path = scope.get("path", "")
    if path == "/metrics":
        await exposition(scope, receive, send)
    elif path.startswith("/control/"):
        await control(scope, receive, send)
    else:
        await instrumented(scope, receive, send)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    for family, labels in KNOWN_SERIES:
        if labels:
            family.labels(**labels)
    uvicorn.run(application, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
