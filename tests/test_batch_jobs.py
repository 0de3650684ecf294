"""Batch jobs: the runtime reports runs to a real Pushgateway, the generated alerts catch
a failed run and a job that stopped succeeding, in promtool and in a real Prometheus."""

from __future__ import annotations

import shutil
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Gauge, pushadd_to_gateway
from lint_stacks import JOBS, METRICS, SEVERITIES, stack

from e2e.servers import HOST, PrometheusAPI, Process, free_port, wait_for
from e2e import servers
from sergas_observability.compile import prometheus, rule_tests, rules
from sergas_observability.instrumentation import batch_run, report_batch_run
from sergas_observability.instrumentation.batch import LAST_SUCCESS
from sergas_observability.lint import ensure_valid, validate
from sergas_observability.model import BatchJob, Environment, ScrapeJob
from sergas_observability.output import render_all, write_tree
from sergas_observability import toolchain

RUNBOOK = "https://runbooks.example.com/backups"
BACKUP = BatchJob(name="nightly-backup", service="db", description="The nightly backup.", max_age="1h", severity="P1", runbook_url=RUNBOOK)
MIGRATE = BatchJob(name="migrate", service="app", description="Migrations.", severity="P1", runbook_url=RUNBOOK)
GATEWAY_JOB = ScrapeJob(name="pushgateway", exporter="pushgateway", honor_labels=True, targets={"development": ("pg-gw:9091",)})


def _stack(*jobs: BatchJob, scrape_jobs=JOBS + (GATEWAY_JOB,), **fields):
    return stack(batch_jobs=jobs, scrape_jobs=scrape_jobs, **fields)


def test_each_job_gets_failing_and_with_max_age_stale():
    s = ensure_valid(_stack(BACKUP, MIGRATE))
    derived = {a.name: a for a in s.all_alerts if a.derived_from}
    assert set(derived) == {"NightlyBackupFailing", "NightlyBackupStale", "MigrateFailing"}
    assert derived["NightlyBackupStale"].expr == 'time() - batch_job_last_success_timestamp_seconds{job="nightly-backup"} > 3600'
    assert derived["NightlyBackupFailing"].expr == 'batch_job_last_run_success{job="nightly-backup"} == 0'
    assert (derived["MigrateFailing"].service, derived["MigrateFailing"].severity) == ("app", "P1")
    assert derived["NightlyBackupStale"].origin == BACKUP.origin


def test_mistakes_in_batch_jobs_are_errors():
    no_gateway = [f.one_line() for f in validate(_stack(BACKUP, scrape_jobs=JOBS)).warnings]
    assert any("no scrape job collects the Pushgateway" in line for line in no_gateway), no_gateway
    unknown = [f.one_line() for f in validate(_stack(BACKUP.model_copy(update={"severity": "P4"}))).errors]
    assert any("BatchJob 'nightly-backup' field 'severity': unknown severity 'P4'" in line for line in unknown), unknown
    with pytest.raises(Exception, match="shorter than a minute"):
        BatchJob(name="x", service="s", description="d", max_age="30s", severity="P1", runbook_url=RUNBOOK)


def test_generated_scenarios_pass_promtool(tmp_path):
    s = ensure_valid(_stack(BACKUP, MIGRATE))
    write_tree(render_all({**rules.compile(s), **rule_tests.compile(s)}), tmp_path / "out")
    assert toolchain.run_rule_tests(tmp_path / "out/prometheus/tests/alerts.test.yml") == []


def _pushgateway(workdir: Path) -> Process:
    binary = shutil.which("prometheus-pushgateway")
    if binary is None:
        raise AssertionError("prometheus-pushgateway is not installed: apt-get install -y --no-install-recommends prometheus-pushgateway")
    port = free_port()
    argv = [binary, f"--web.listen-address={HOST}:{port}", f"--persistence.file={workdir / 'pushgateway.data'}"]
    return Process("pushgateway", argv, port, workdir / "pushgateway.log").start("/-/ready")


def _pushed(gateway: Process) -> dict[str, float]:
    with urllib.request.urlopen(gateway.url + "/metrics", timeout=5) as response:
        text = response.read().decode()
    return {line.split("{")[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
            if line.startswith("batch_job_") and 'job="nightly-backup"' in line}


def test_a_failed_run_keeps_the_last_success(tmp_path):
    gateway = _pushgateway(tmp_path)
    try:
        address = f"{HOST}:{gateway.port}"
        with batch_run("nightly-backup", gateway=address):
            time.sleep(0.05)
        first = _pushed(gateway)
        assert first["batch_job_last_run_success"] == 1
        assert first["batch_job_last_success_timestamp_seconds"] == first["batch_job_last_run_timestamp_seconds"]
        assert first["batch_job_last_run_duration_seconds"] >= 0.05
        with pytest.raises(RuntimeError):
            with batch_run("nightly-backup", gateway=address):
                raise RuntimeError("disk full")
        second = _pushed(gateway)
        assert second["batch_job_last_run_success"] == 0
        assert second["batch_job_last_success_timestamp_seconds"] == first["batch_job_last_success_timestamp_seconds"]
        assert second["batch_job_last_run_timestamp_seconds"] >= first["batch_job_last_run_timestamp_seconds"]
    finally:
        gateway.stop()


@pytest.mark.slow
def test_real_prometheus_pages_on_a_failed_run_and_on_a_backup_that_stops(tmp_path):
    """Pushgateway + Prometheus with the generated rules; a one-minute RPO to wait for."""
    gateway = _pushgateway(tmp_path)
    processes = [gateway]
    try:
        backup = BACKUP.model_copy(update={"max_age": "1m"})
        job = GATEWAY_JOB.model_copy(update={"targets": {"e2e": (f"{HOST}:{gateway.port}",)}})
        env = Environment(name="e2e", external_labels={"env": "e2e"}, scrape_interval="1s", scrape_timeout="1s",
                          evaluation_interval="1s", alertmanagers=(f"{HOST}:{free_port()}",))
        s = ensure_valid(stack(environments=(env,), scrape_jobs=(job,), batch_jobs=(backup,), alerts=(), dashboards=(),
                               recording_rules=(), metrics=METRICS, severities=SEVERITIES))
        write_tree(render_all({**prometheus.compile(s), **rules.compile(s)}), tmp_path / "gen")
        prom = servers.prometheus(tmp_path / "gen/prometheus/e2e/prometheus.yml", tmp_path).start("/-/ready")
        processes.append(prom)
        api = PrometheusAPI(prom.url)
        address = f"{HOST}:{gateway.port}"

        def firing(name: str) -> bool:
            return bool(api.alerts(name, state="firing"))

        report_batch_run("nightly-backup", address, success=True, duration=1.0)
        wait_for("the report to be scraped", lambda: api.query('batch_job_last_run_success{job="nightly-backup"} == 1'), 20)
        assert not firing("NightlyBackupFailing") and not firing("NightlyBackupStale")

        report_batch_run("nightly-backup", address, success=False, duration=1.0)
        wait_for("NightlyBackupFailing to fire", lambda: firing("NightlyBackupFailing"), 20)
        report_batch_run("nightly-backup", address, success=True, duration=1.0)
        wait_for("NightlyBackupFailing to clear", lambda: not firing("NightlyBackupFailing"), 20)

        # The last success is 90 s old (as if the backup stopped reporting 90 s ago):
        # past the 1-minute RPO. promtool proves the threshold over time; this proves
        # the real Prometheus reads the pushed timestamp against its own clock.
        registry = CollectorRegistry()
        Gauge(LAST_SUCCESS, "When the last successful run ended.", registry=registry).set(time.time() - 90)
        pushadd_to_gateway(address, job="nightly-backup", registry=registry)
        wait_for("NightlyBackupStale to fire", lambda: firing("NightlyBackupStale"), 20)
        (stale,) = api.alerts("NightlyBackupStale", state="firing")
        assert float(stale["value"]) >= 90
        report_batch_run("nightly-backup", address, success=True, duration=1.0)
        wait_for("NightlyBackupStale to clear", lambda: not firing("NightlyBackupStale"), 20)
    finally:
        for process in processes:
            process.stop()
