"""The runtime the generated metrics module and the application use.

Imports prometheus_client and the standard library only: the application
never loads pydantic, grafanalib, jinja2 or the generator through it.
"""

from .asgi import UNMATCHED_ROUTE, MetricsMiddleware, route_from_scope
from .batch import batch_run, report_batch_run
from .exposition import (
    METRICS_PORT,
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
    Counter,
    CounterChild,
    Gauge,
    GaugeChild,
    Histogram,
    HistogramChild,
    Instrument,
    Summary,
)
from .tracking import Tracker, track

__all__ = [
    "batch_run",
    "report_batch_run",
    "METRICS_PORT",
    "OVERFLOW_VALUE",
    "UNMATCHED_ROUTE",
    "Counter",
    "CounterChild",
    "Gauge",
    "GaugeChild",
    "Histogram",
    "HistogramChild",
    "Instrument",
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
    "start_metrics_server",
    "track",
]
