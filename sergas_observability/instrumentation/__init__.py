"""The runtime the generated metrics module and the application use.

Imports prometheus_client and the standard library only: the application
never loads pydantic, grafanalib, jinja2 or the generator through it.

This package is the one home of the runtime's code. `sergas-obs generate`
copies its modules, unchanged but for a header line, into every generated
module as `<stack>_metrics/_runtime/`, so an application installs its module
with prometheus_client as its only dependency; the imports here are relative
for that reason.
"""

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
from .tracking import Tracker, track

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
