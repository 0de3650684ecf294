"""MetricsMiddleware on tiny ASGI apps, driven through the ASGI protocol itself."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from sergas_observability.instrumentation import UNMATCHED_ROUTE, Counter, Histogram, MetricsMiddleware, metrics_app
from instrumented.scraping import promtool_check_metrics, samples, value

METHODS = ("GET", "POST")


def http_metrics():
    registry = CollectorRegistry()
    labels = ("method", "route", "status")
    requests = Counter("http_requests_total", "Requests.", labels=labels, allowed={"method": METHODS}, registry=registry)
    duration = Histogram("http_request_duration_seconds", "Time.", labels=labels, allowed={"method": METHODS}, registry=registry, buckets=(0.05, 1.0))
    return requests, duration, registry


def framework_app(template: str | None, status: int = 200, raise_before: bool = False, delay: float = 0.0):
    """An app that, like FastAPI's router, puts the matched route into the scope."""

    async def app(scope, receive, send):
        if template is not None:
            scope["route"] = SimpleNamespace(path="/raw-template-unused", path_format=template)
        await asyncio.sleep(delay)
        if raise_before:
            raise RuntimeError("handler failed")
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


def call(app, path: str, method: str = "GET", scope_type: str = "http"):
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": scope_type, "method": method, "path": path, "headers": [], "query_string": b""}
    asyncio.run(app(scope, receive, send))
    return sent


def test_route_template_from_the_scope_never_the_raw_path():
    requests, duration, registry = http_metrics()
    app = MetricsMiddleware(framework_app("/api/approvals/{id}"), requests=requests, duration=duration)
    for approval in ("123", "456", "789"):
        call(app, f"/api/approvals/{approval}")
    found = samples(generate_latest(registry).decode())
    assert value(found, "http_requests_total", method="GET", route="/api/approvals/{id}", status="200") == 3
    assert value(found, "http_request_duration_seconds_count", method="GET", route="/api/approvals/{id}", status="200") == 3
    assert not any(v.startswith("/api/approvals/1") for _n, ls in found for k, v in ls if k == "route")


def test_path_is_used_when_the_route_has_no_path_format():
    requests, duration, registry = http_metrics()

    async def app(scope, receive, send):
        scope["route"] = SimpleNamespace(path="/items/{item_id}")
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    call(MetricsMiddleware(app, requests=requests, duration=duration), "/items/9", method="POST")
    found = samples(generate_latest(registry).decode())
    assert value(found, "http_requests_total", method="POST", route="/items/{item_id}", status="201") == 1


def test_unrouted_requests_share_one_fallback_value_or_ask_the_callback():
    requests, duration, registry = http_metrics()
    app = MetricsMiddleware(framework_app(None, status=404), requests=requests, duration=duration)
    for i in range(5):
        call(app, f"/scanner/probe-{i}")
    custom = MetricsMiddleware(framework_app(None), requests=requests, duration=duration, route_template=lambda scope: "/static/*")
    call(custom, "/static/app.js")
    broken = MetricsMiddleware(framework_app(None), requests=requests, duration=duration, route_template=lambda scope: 1 / 0)
    assert call(broken, "/x")[0]["status"] == 200  # a failing callback costs the metric, not the response
    found = samples(generate_latest(registry).decode())
    assert value(found, "http_requests_total", method="GET", route=UNMATCHED_ROUTE, status="404") == 5
    assert value(found, "http_requests_total", method="GET", route="/static/*", status="200") == 1
    assert value(found, "sergas_instrumentation_errors_total", metric="http_requests_total") == 1


def test_an_app_that_raises_is_recorded_as_500_and_the_error_propagates():
    requests, duration, registry = http_metrics()
    app = MetricsMiddleware(framework_app("/boom", raise_before=True), requests=requests, duration=duration)
    with pytest.raises(RuntimeError, match="handler failed"):
        call(app, "/boom", method="POST")
    found = samples(generate_latest(registry).decode())
    assert value(found, "http_requests_total", method="POST", route="/boom", status="500") == 1


def test_duration_covers_the_handler_and_odd_methods_overflow():
    requests, duration, registry = http_metrics()
    app = MetricsMiddleware(framework_app("/slow", delay=0.1), requests=requests, duration=duration)
    call(app, "/slow")
    call(app, "/slow", method="PROPFIND")
    found = samples(generate_latest(registry).decode())
    assert value(found, "http_request_duration_seconds_bucket", method="GET", route="/slow", status="200", le="0.05") == 0
    assert value(found, "http_request_duration_seconds_bucket", method="GET", route="/slow", status="200", le="1.0") == 1
    assert value(found, "http_requests_total", method="__overflow__", route="/slow", status="200") == 1
    assert value(found, "sergas_instrumentation_label_overflow_total", metric="http_requests_total", label="method") == 1


def test_other_scope_types_pass_through_unrecorded():
    requests, duration, registry = http_metrics()
    seen = []

    async def app(scope, receive, send):
        seen.append(scope["type"])

    middleware = MetricsMiddleware(app, requests=requests, duration=duration)
    call(middleware, "/", scope_type="lifespan")
    call(middleware, "/ws", scope_type="websocket")
    assert seen == ["lifespan", "websocket"]
    found = samples(generate_latest(registry).decode())
    assert sum(v for (n, _l), v in found.items() if n == "http_requests_total") == 0


def test_wrong_instruments_are_a_startup_error():
    registry = CollectorRegistry()
    wrong = Counter("requests_total", "Requests.", labels=("path",), registry=registry)
    _, duration, _ = http_metrics()
    with pytest.raises(TypeError, match="must have exactly the labels"):
        MetricsMiddleware(framework_app("/"), requests=wrong, duration=duration)


def test_metrics_app_serves_a_promtool_clean_exposition():
    import sergas_metrics  # the generated module, on the default registry

    sergas_metrics.sergas_cache_misses_total.inc(cache="session")
    sent = call(metrics_app(), "/metrics")
    assert sent[0]["status"] == 200
    body = b"".join(m.get("body", b"") for m in sent[1:]).decode()
    assert 'sergas_cache_misses_total{cache="session"}' in body
    assert promtool_check_metrics(body) == ""
