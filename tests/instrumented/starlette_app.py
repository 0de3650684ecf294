"""A Starlette application instrumented with the generated module, as an application writes it.

    python -m uvicorn --app-dir tests/instrumented starlette_app:routed [--root-path /svc]

`routed` serves the exposition on a Route at /metrics (what the README shows),
`mounted` on a Mount at /metrics. Both run MetricsMiddleware over the whole
app, with its default metrics path.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Mount, Route

import sergas_metrics as metrics
from sergas_metrics import MetricsMiddleware, metrics_app


async def account(request: Request) -> PlainTextResponse:
    return PlainTextResponse(request.path_params["account_id"])


def build(exposition: BaseRoute) -> Starlette:
    app = Starlette(routes=[Route("/api/accounts/{account_id}", account), exposition])
    app.add_middleware(MetricsMiddleware, requests=metrics.http_requests_total, duration=metrics.http_request_duration_seconds)
    return app


routed = build(Route("/metrics", metrics_app()))
mounted = build(Mount("/metrics", metrics_app()))
