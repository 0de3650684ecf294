"""A real app as 4 worker processes in multiprocess mode, hammered concurrently.

The workers share one listening socket (as under gunicorn) and a
PROMETHEUS_MULTIPROC_DIR; the master serves the aggregated exposition with
start_metrics_server and calls the child_exit hook when a worker dies. Every
total scraped afterwards must be exact.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from instrumented.scraping import free_port, get, label_values, promtool_check_metrics, samples, scrape, total, value

PREFORK = Path(__file__).resolve().parent / "instrumented" / "prefork.py"
WORKERS = 4

# What the hammer sends: (method, path, how many times).
ACCOUNTS = 2000
AGENT_RUNS = {("orchestrator", False): 120, ("orchestrator", True): 40, ("memory_analyst", False): 60, ("not_an_agent", False): 20}
BRIEFS = {False: 90, True: 30}
UNMATCHED = 50
WRONG_METHOD = 40  # PATCH on a GET-only route: a 405, method label is declared


@pytest.fixture(scope="module")
def prefork(tmp_path_factory):
    multiproc = tmp_path_factory.mktemp("multiproc")
    port, metrics_port = free_port(), free_port()
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(multiproc))
    proc = subprocess.Popen(
        [sys.executable, str(PREFORK), "--port", str(port), "--metrics-port", str(metrics_port), "--workers", str(WORKERS)],
        env=env, stdout=subprocess.PIPE, text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("ready"), f"prefork did not start: {line!r}"
        pids = [int(pid) for pid in line.split()[1:]]
        yield {"proc": proc, "base": f"http://127.0.0.1:{port}", "metrics": f"http://127.0.0.1:{metrics_port}/metrics", "pids": pids,
               "multiproc": multiproc}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)


def _requests() -> list[tuple[str, str]]:
    todo = [("GET", f"/api/accounts/{i}") for i in range(ACCOUNTS)]
    for (agent, fail), count in AGENT_RUNS.items():
        todo += [("POST", f"/api/agents/{agent}/run?fail={int(fail)}")] * count
    for fail, count in BRIEFS.items():
        todo += [("POST", f"/api/briefs?fail={int(fail)}")] * count
    todo += [("GET", f"/no/such/page/{i}") for i in range(UNMATCHED)]
    todo += [("PATCH", f"/api/accounts/{i}") for i in range(WRONG_METHOD)]
    return todo


@pytest.fixture(scope="module")
def hammered(prefork):
    todo = _requests()
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda r: (r, *get(prefork["base"] + r[1], method=r[0])), todo))
    return results


def test_every_request_answered_and_spread_over_the_workers(prefork, hammered):
    statuses = Counter(status for _r, status, _b in hammered)
    agent_ok = sum(count for (_agent, fail), count in AGENT_RUNS.items() if not fail)
    assert statuses == {200: ACCOUNTS + agent_ok + BRIEFS[False], 500: 40, 503: BRIEFS[True], 404: UNMATCHED, 405: WRONG_METHOD}
    served_by = {int(body) for (_m, path), status, body in hammered if status == 200}
    assert served_by == set(prefork["pids"]), "every one of the 4 workers served requests"


def test_scraped_totals_are_exact(prefork, hammered):
    found = samples(scrape(prefork["metrics"]))
    route = "/api/accounts/{account_id}"
    assert value(found, "http_requests_total", method="GET", route=route, status="200") == ACCOUNTS
    assert value(found, "http_request_duration_seconds_count", method="GET", route=route, status="200") == ACCOUNTS
    assert value(found, "http_request_duration_seconds_bucket", method="GET", route=route, status="200", le="+Inf") == ACCOUNTS
    assert value(found, "http_requests_total", method="PATCH", route=route, status="405") == WRONG_METHOD
    assert value(found, "http_requests_total", method="GET", route="__unmatched__", status="404") == UNMATCHED
    agents = "/api/agents/{agent}/run"
    assert value(found, "http_requests_total", method="POST", route=agents, status="200") == 200
    assert value(found, "http_requests_total", method="POST", route=agents, status="500") == 40
    assert value(found, "http_requests_total", method="POST", route="/api/briefs", status="503") == 30
    # the decorator and the async context manager
    assert value(found, "sergas_agent_executions_total", agent="orchestrator", outcome="success") == 120
    assert value(found, "sergas_agent_executions_total", agent="orchestrator", outcome="error") == 40
    assert value(found, "sergas_agent_executions_total", agent="memory_analyst", outcome="success") == 60
    assert value(found, "sergas_agent_execution_duration_seconds_count", agent="orchestrator") == 160
    assert value(found, "sergas_briefs_generated_total", outcome="success") == 90
    assert value(found, "sergas_briefs_generated_total", outcome="error") == 30
    assert value(found, "sergas_cache_hits_total", cache="session") == ACCOUNTS
    # the label guard: an undeclared agent is recorded as the overflow value and counted, per observation
    assert value(found, "sergas_agent_executions_total", agent="__overflow__", outcome="success") == 20
    assert value(found, "sergas_instrumentation_label_overflow_total", metric="sergas_agent_executions_total", label="agent") == 20
    assert value(found, "sergas_instrumentation_label_overflow_total", metric="sergas_agent_execution_duration_seconds", label="agent") == 20
    assert total(found, "http_requests_total") == len(hammered)
    # the route label holds templates, never raw paths
    assert label_values(found, "route") == {route, agents, "/api/briefs", "__unmatched__"}


def test_mounted_exposition_aggregates_the_same_totals(prefork, hammered):
    # /metrics mounted in the app (served by whichever worker accepts) reads every worker's files.
    status, text = get(prefork["base"] + "/metrics")
    assert status == 200
    found = samples(text)
    assert value(found, "sergas_agent_executions_total", agent="orchestrator", outcome="error") == 40
    assert value(found, "http_requests_total", method="GET", route="/api/accounts/{account_id}", status="200") == ACCOUNTS


def test_the_master_imports_the_module_yet_contributes_no_values(prefork, hammered):
    files = sorted(p.name for p in prefork["multiproc"].glob("*.db"))
    assert files, "no multiprocess files: the workers wrote nothing"
    assert not [name for name in files if name.removesuffix(".db").endswith(f"_{prefork['proc'].pid}")], files
    assert {int(name.removesuffix(".db").rsplit("_", 1)[1]) for name in files} == set(prefork["pids"])


def test_scrapes_through_the_app_are_not_traffic(prefork, hammered):
    before = total(samples(scrape(prefork["metrics"])), "http_requests_total")
    for _ in range(5):
        assert get(prefork["base"] + "/metrics")[0] == 200
    assert total(samples(scrape(prefork["metrics"])), "http_requests_total") == before == len(hammered)


def test_exposition_passes_promtool(prefork, hammered):
    assert promtool_check_metrics(scrape(prefork["metrics"])) == ""


def test_dead_worker_leaves_live_gauges_and_keeps_counters(prefork, hammered):
    before = samples(scrape(prefork["metrics"]))
    assert value(before, "sergas_db_pool_max_connections") == 10 * WORKERS  # livesum over the live workers
    victim = prefork["pids"][0]
    os.kill(victim, signal.SIGKILL)
    assert prefork["proc"].stdout.readline().split() == ["exited", str(victim)]  # the child_exit hook ran
    after = samples(scrape(prefork["metrics"]))
    assert value(after, "sergas_db_pool_max_connections") == 10 * (WORKERS - 1)
    assert total(after, "http_requests_total") == total(before, "http_requests_total")
