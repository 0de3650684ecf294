"""MetricsMiddleware on tiny ASGI apps, driven through the ASGI protocol itself, and on a
real Starlette app under uvicorn: scrapes of /metrics are answered directly and are not traffic."""

from __future__ import annotations

import asyncio
import http.client
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from sergas_observability.instrumentation import UNMATCHED_ROUTE, Counter, Histogram, MetricsApp, MetricsMiddleware, metrics_app
from instrumented.scraping import free_port, promtool_check_metrics, samples, value

INSTRUMENTED = Path(__file__).resolve().parent / "instrumented"

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


def call(app, path: str, method: str = "GET", scope_type: str = "http", **scope_items):
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": scope_type, "method": method, "path": path, "headers": [], "query_string": b"", **scope_items}
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
    assert value(found, "instrumentation_errors_total", metric="http_requests_total") == 1


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
    assert value(found, "instrumentation_label_overflow_total", metric="http_requests_total", label="method") == 1


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


def recorded_requests(exposition: str) -> dict[frozenset, float]:
    """Every http_requests_total sample, by label set."""
    return {labels: v for (name, labels), v in samples(exposition).items() if name == "http_requests_total"}


def test_requests_to_the_metrics_path_are_never_recorded():
    requests, duration, registry = http_metrics()
    app = MetricsMiddleware(framework_app(None), requests=requests, duration=duration)
    for path, extra in [
        ("/metrics", {}),
        ("/metrics/", {}),
        ("/svc/metrics", {"root_path": "/svc"}),  # servers that put the root_path in the path (uvicorn, ASGI 3)
        ("/metrics", {"root_path": "/svc"}),  # and those that do not
    ]:
        assert call(app, path, **extra)[0]["status"] == 200  # passed through to the app, which answered
    assert recorded_requests(generate_latest(registry).decode()) == {}
    call(app, "/metricsx")
    call(app, "/svc/metrics", root_path="/other")
    assert recorded_requests(generate_latest(registry).decode()) == {
        frozenset({("method", "GET"), ("route", UNMATCHED_ROUTE), ("status", "200")}): 2.0
    }


def test_the_metrics_path_is_configurable_and_can_be_turned_off():
    requests, duration, registry = http_metrics()
    custom = MetricsMiddleware(framework_app(None), requests=requests, duration=duration, metrics_path="/internal/metrics")
    everything = MetricsMiddleware(framework_app(None), requests=requests, duration=duration, metrics_path=None)
    call(custom, "/internal/metrics")
    call(custom, "/metrics")  # not its metrics path: traffic
    call(everything, "/metrics")
    assert recorded_requests(generate_latest(registry).decode()) == {
        frozenset({("method", "GET"), ("route", UNMATCHED_ROUTE), ("status", "200")}): 2.0
    }
    with pytest.raises(ValueError, match="must start with '/'"):
        MetricsMiddleware(framework_app(None), requests=requests, duration=duration, metrics_path="metrics")


def test_metrics_app_answers_any_path_it_is_routed_at_and_lifespan():
    app = metrics_app()
    assert isinstance(app, MetricsApp)  # an instance: Starlette's Route takes it as an ASGI app, not a handler
    for path, extra in [("/metrics", {}), ("/metrics/", {}), ("/", {"root_path": "/metrics"}), ("/svc/metrics", {"root_path": "/svc"})]:
        sent = call(app, path, **extra)
        assert sent[0]["status"] == 200 and b"# TYPE" in sent[1]["body"]
    events = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    answered = []

    async def receive():
        return next(events)

    async def send(message):
        answered.append(message["type"])

    asyncio.run(app({"type": "lifespan"}, receive, send))
    assert answered == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


# -- a real Starlette application under uvicorn ------------------------------------------


@contextmanager
def serving(app: str, *options: str) -> Iterator[int]:
    """tests/instrumented/starlette_app.py:<app> under uvicorn on a free port."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--app-dir", str(INSTRUMENTED), f"starlette_app:{app}",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log", *options],
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                get(port, "/api/ready-probe-not-a-route")  # a 404: counted, then read back as such
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"uvicorn did not serve starlette_app:{app}")
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def get(port: int, path: str) -> tuple[int, str | None, str]:
    """(status, Location, body) of one GET, redirects not followed."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.getheader("location"), response.read().decode()
    finally:
        connection.close()


PROBE = frozenset({("method", "GET"), ("route", UNMATCHED_ROUTE), ("status", "404")})
ACCOUNT = frozenset({("method", "GET"), ("route", "/api/accounts/{account_id}"), ("status", "200")})


def scrape_through_the_app(port: int, path: str = "/metrics") -> str:
    status, location, body = get(port, path)
    assert (status, location) == (200, None), f"GET {path}: {status} to {location}"
    return body


@pytest.mark.parametrize("options", [(), ("--root-path", "/svc")], ids=["no root path", "root path /svc"])
def test_a_scrape_of_the_routed_metrics_app_is_answered_directly_and_is_not_traffic(options):
    with serving("routed", *options) as port:
        before = recorded_requests(scrape_through_the_app(port))
        assert before == {PROBE: 1.0}  # the readiness probe, and no scrape
        for _ in range(3):
            assert recorded_requests(scrape_through_the_app(port)) == before
        assert get(port, "/api/accounts/7")[0] == 200
        after = scrape_through_the_app(port)
        assert recorded_requests(after) == {PROBE: 1.0, ACCOUNT: 1.0}
        assert value(samples(after), "http_request_duration_seconds_count", **dict(ACCOUNT)) == 1
        # `/metrics/` gets Starlette's redirect to the route: not traffic either
        status, location, _ = get(port, "/metrics/")
        assert status == 307 and location.endswith("/metrics")
        assert recorded_requests(scrape_through_the_app(port)) == {PROBE: 1.0, ACCOUNT: 1.0}
        assert promtool_check_metrics(after) == ""


def test_a_mounted_metrics_app_is_redirected_by_the_router_and_still_not_traffic():
    # Starlette's Mount("/metrics") matches only /metrics/...: the router answers /metrics
    # with a 307 before the mounted app is reached (why the README routes it instead).
    with serving("mounted") as port:
        status, location, _ = get(port, "/metrics")
        assert status == 307 and location.endswith("/metrics/")
        body = scrape_through_the_app(port, "/metrics/")
        assert recorded_requests(body) == {PROBE: 1.0}  # neither the redirect nor the scrape
