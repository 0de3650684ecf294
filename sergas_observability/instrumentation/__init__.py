"""The runtime the generated metrics module and the application use.

Imports prometheus_client and the standard library only: the application
never loads pydantic, grafanalib, jinja2 or the generator through it.

This package is the one home of the runtime's code. `sergas-obs generate`
copies its modules, unchanged but for a header line, into every generated
module as `<stack>_metrics/_runtime/`, so an application installs its module
with prometheus_client as its only dependency; the imports here are relative
for that reason.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .instruments import (
    OVERFLOW_VALUE,
    RUNTIME_PREFIX,
    Counter,
    CounterChild,
    Gauge,
    GaugeChild,
    Histogram,
    HistogramChild,
    Instrument,
    Summary,
    runtime_series,
)

# The names of the other modules, by module. They load on first use, not with the
# package: the instruments are all the generated module needs at import, and an
# application that serves no exposition from this process, runs no batch job or
# tracks no call should not pay for the ASGI, multiprocess, Pushgateway or
# context-variable machinery when it starts.
_LAZY = {
    "asgi": ("METRICS_PATH", "UNMATCHED_ROUTE", "MetricsMiddleware", "route_from_scope"),
    "batch": ("batch_run", "report_batch_run"),
    "exposition": (
        "METRICS_PORT",
        "MetricsApp",
        "child_exit",
        "clear_multiprocess_dir",
        "exposition_registry",
        "mark_process_dead",
        "metrics_app",
        "multiprocess_dir",
        "start_metrics_server",
    ),
    "tracking": ("Tracker", "track"),
}
_MODULE_OF = {name: module for module, names in _LAZY.items() for name in names}

if TYPE_CHECKING:  # what type checkers see: the names as if imported here
    from .asgi import METRICS_PATH, UNMATCHED_ROUTE, MetricsMiddleware, route_from_scope
    from .batch import batch_run, report_batch_run
    from .exposition import (
        METRICS_PORT,
        MetricsApp,
        child_exit,
        clear_multiprocess_dir,
        exposition_registry,
        mark_process_dead,
        metrics_app,
        multiprocess_dir,
        start_metrics_server,
    )
    from .tracking import Tracker, track
else:  # hidden from type checkers, which would otherwise accept any name of the package

    def __getattr__(name: str) -> Any:
        """Import the module defining `name` (PEP 562: called for names not set yet)."""
        module = _MODULE_OF.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
        globals()[name] = value  # later look-ups find it directly
        return value

    def __dir__() -> list[str]:
        return sorted(set(globals()) | set(_MODULE_OF))


__all__ = [
    "batch_run",
    "report_batch_run",
    "METRICS_PATH",
    "METRICS_PORT",
    "OVERFLOW_VALUE",
    "RUNTIME_PREFIX",
    "UNMATCHED_ROUTE",
    "Counter",
    "CounterChild",
    "Gauge",
    "GaugeChild",
    "Histogram",
    "HistogramChild",
    "Instrument",
    "MetricsApp",
    "MetricsMiddleware",
    "Summary",
    "Tracker",
    "child_exit",
    "clear_multiprocess_dir",
    "exposition_registry",
    "mark_process_dead",
    "metrics_app",
    "multiprocess_dir",
    "route_from_scope",
    "runtime_series",
    "start_metrics_server",
    "track",
]
