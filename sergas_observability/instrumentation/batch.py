"""Reporting a batch job's runs to the Prometheus Pushgateway.

    from <stack>_metrics import batch_run      # or sergas_observability.instrumentation

    with batch_run("postgres-wal-backup", gateway="pushgateway:9091"):
        archive_wal()

On success the run pushes its end time as the last success, its duration and
`last_run_success 1`; on an exception it pushes `last_run_success 0` and its
duration, keeps the previous last success (a POST replaces only the metrics
it sends), and re-raises. The series names are those the generated alerts
read (model/batch.py, which this module must not import: the runtime loads
prometheus_client only).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Gauge, pushadd_to_gateway

LAST_SUCCESS = "batch_job_last_success_timestamp_seconds"
LAST_RUN = "batch_job_last_run_timestamp_seconds"
LAST_RUN_SUCCESS = "batch_job_last_run_success"
LAST_RUN_DURATION = "batch_job_last_run_duration_seconds"


def report_batch_run(job: str, gateway: str, *, success: bool, duration: float, timeout: float = 10.0) -> None:
    """Push one run's outcome for `job` (the grouping key) to the Pushgateway at `gateway` (host:port)."""
    registry = CollectorRegistry()
    now = time.time()
    Gauge(LAST_RUN, "When the last run ended (Unix time).", registry=registry).set(now)
    Gauge(LAST_RUN_SUCCESS, "1 if the last run succeeded, 0 if it failed.", registry=registry).set(1 if success else 0)
    Gauge(LAST_RUN_DURATION, "How long the last run took, in seconds.", registry=registry).set(duration)
    if success:
        Gauge(LAST_SUCCESS, "When the last successful run ended (Unix time).", registry=registry).set(now)
    pushadd_to_gateway(gateway, job=job, registry=registry, timeout=timeout)


@contextmanager
def batch_run(job: str, gateway: str, *, timeout: float = 10.0) -> Iterator[None]:
    """Time the block and report it as one run of `job`: failed if it raises."""
    started = time.monotonic()
    try:
        yield
    except BaseException:
        report_batch_run(job, gateway, success=False, duration=time.monotonic() - started, timeout=timeout)
        raise
    report_batch_run(job, gateway, success=True, duration=time.monotonic() - started, timeout=timeout)
