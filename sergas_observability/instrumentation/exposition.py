"""Serving /metrics, in one process or aggregated over worker processes.

Single process: the instruments live in prometheus_client's default registry.

In the application, route the exposition at /metrics as an ASGI app:

    app.add_route("/metrics", metrics_app())           # Starlette, FastAPI
    Route("/metrics", metrics_app())                   # in a Starlette route list

A route answers GET /metrics itself. `app.mount("/metrics", metrics_app())`
works too, but a Starlette/FastAPI Mount only matches `/metrics/...`: its
router answers `/metrics` with a 307 redirect to `/metrics/` first (which
Prometheus follows). MetricsMiddleware records neither.

Multiprocess (the seed's 4 gunicorn/uvicorn workers): set
PROMETHEUS_MULTIPROC_DIR to an empty directory *before* the application starts
(prometheus_client picks its storage when it is imported). Each worker then
writes its values to files there, and whoever serves /metrics reads them all
through a MultiProcessCollector, combining gauges by the mode declared per
metric (`multiprocess_mode` in the definitions). Register `child_exit` as
gunicorn's hook so a dead worker's live gauges disappear, and empty the
directory when the server starts (`clear_multiprocess_dir`).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import prometheus_client
from prometheus_client import multiprocess
from prometheus_client.registry import CollectorRegistry

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# The port the seed's Prometheus scrape config expects the application on.
METRICS_PORT = 9090


def multiprocess_dir() -> str | None:
    """The multiprocess directory, when multiprocess mode is on."""
    return os.environ.get(MULTIPROC_ENV) or os.environ.get(MULTIPROC_ENV.lower()) or None


def exposition_registry() -> CollectorRegistry:
    """The registry to serve: every worker's values in multiprocess mode, else this process's."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return prometheus_client.REGISTRY


def start_metrics_server(port: int = METRICS_PORT, addr: str = "0.0.0.0") -> Any:
    """Serve /metrics on its own port from a background thread; returns the server.

    Under several workers only one process can bind the port: start it in
    gunicorn's `when_ready` hook (the master) or in a sidecar process, or mount
    `metrics_app()` in the application instead.
    """
    server, _thread = prometheus_client.start_http_server(port, addr, registry=exposition_registry())
    return server


class MetricsApp:
    """An ASGI app serving the exposition at whatever path it is routed or mounted at
    (`/metrics`, `/metrics/`, below any root_path). An instance, not a function, so that
    Starlette's Route treats it as an ASGI app rather than a request handler. Served on
    its own (`uvicorn --factory <stack>_metrics:metrics_app`), it answers lifespan too."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self._serve = prometheus_client.make_asgi_app(registry=registry)

    async def __call__(self, scope: MutableMapping[str, Any], receive: Callable[[], Awaitable[Any]], send: Callable[[Any], Awaitable[None]]) -> None:
        if scope["type"] == "http":
            await self._serve(scope, receive, send)
        elif scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        elif scope["type"] == "websocket":  # nothing to say over a websocket: refuse it
            await send({"type": "websocket.close", "code": 1000})


def metrics_app() -> MetricsApp:
    """An ASGI app serving the exposition, to route at /metrics in the application."""
    return MetricsApp(exposition_registry())


def mark_process_dead(pid: int) -> None:
    """Drop the live gauges of a worker that exited (no-op outside multiprocess mode)."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def child_exit(server: Any, worker: Any) -> None:
    """gunicorn's `child_exit` hook: `from <stack>_metrics import child_exit` in gunicorn.conf.py."""
    mark_process_dead(worker.pid)


def clear_multiprocess_dir() -> None:
    """Remove the files of a previous run; call once before the workers start."""
    directory = multiprocess_dir()
    if directory:
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        for entry in path.glob("*.db"):
            entry.unlink()


__all__ = [
    "METRICS_PORT",
    "MULTIPROC_ENV",
    "MetricsApp",
    "child_exit",
    "clear_multiprocess_dir",
    "exposition_registry",
    "mark_process_dead",
    "metrics_app",
    "multiprocess_dir",
    "start_metrics_server",
]
