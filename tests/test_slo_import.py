"""`sergas-obs import sloth|openslo`: our own fixture specs in their formats become SLO definitions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sergas_observability import toolchain
from sergas_observability.compile.slo import Links, compile_slos
from sergas_observability.model import (
    SLO,
    Environment,
    Metric,
    RatioSLI,
    Severity,
    SlackReceiver,
    Stack,
)
from sergas_observability.slo_import import ImportError_, load_openslo, load_sloth, query_selectors

FIXTURES = Path(__file__).parent / "fixtures" / "slo"
SHOP_METRICS = (
    Metric(name="shop_orders_total", kind="counter", help="Orders.", labels=("result",)),
    Metric(name="shop_payments_total", kind="counter", help="Payments.", labels=("result",)),
    Metric(name="shop_search_queries_total", kind="counter", help="Queries.", labels=("result",)),
)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sergas_observability.cli", *args], capture_output=True, text=True, timeout=120)


def _stack(slos) -> Stack:
    return Stack(
        name="shop",
        environments=(Environment(name="production", external_labels={"env": "production"}),),
        metrics=SHOP_METRICS,
        receivers=(SlackReceiver(name="slack", api_url_file="/run/secrets/slack", channel="#a"),),
        severities=(Severity(name="P0", description="p", receivers=("slack",)), Severity(name="P1", description="t", receivers=("slack",))),
        default_receiver="slack",
        slos=tuple(slos),
    )


def test_sloth_spec_with_two_services():
    orders, payments, queries = load_sloth((FIXTURES / "sloth-checkout.yml").read_text())
    assert (orders.service, orders.name, orders.objective) == ("checkout", "orders-availability", 99.9)
    assert orders.sli.bad == ('shop_orders_total{job="checkout",result="error"}',)
    assert orders.sli.total == ('shop_orders_total{job="checkout"}',)
    assert orders.runbook_url == "https://runbooks.example.com/checkout/orders"
    assert orders.alert_name == "CheckoutOrdersErrors"
    assert orders.labels == {"team": "payments", "category": "availability"}
    assert (orders.page_severity, orders.ticket_severity) == ("P0", "P1")  # Sloth's severity labels are not ours
    assert len(payments.sli.bad) == 2  # a sum of two rates
    assert {t.action for t in payments.tiers} == {"ticket"}  # page_alert.disable
    assert queries.service == "search" and queries.sli.bad == ('shop_search_queries_total{result="error"}',)
    assert queries.runbook_url == "https://runbooks.invalid/slo/search-queries"


def test_sloth_kubernetes_crd():
    (slo,) = load_sloth((FIXTURES / "sloth-k8s.yml").read_text(), page_severity="P1", ticket_severity="P2")
    assert (slo.service, slo.name, slo.objective, slo.alert_name) == ("search", "queries", 99.9, "SearchQueryErrors")
    assert (slo.page_severity, slo.ticket_severity) == ("P1", "P2")


def test_openslo_v1alpha_and_v1():
    (queries,) = load_openslo((FIXTURES / "openslo-v1alpha.yml").read_text())
    assert (queries.objective, queries.period) == (99.5, "28d")
    assert queries.sli.good == ('shop_search_queries_total{result!="error"}',) and not queries.sli.bad
    (orders,) = load_openslo((FIXTURES / "openslo-v1.yml").read_text())
    assert (orders.service, orders.objective, orders.period) == ("checkout", 99.0, "7d")
    assert orders.sli.bad == ('shop_orders_total{result="error"}',)  # plain selectors, through indicatorRef
    assert orders.runbook_url == "https://runbooks.example.com/checkout/orders"
    assert orders.labels == {"team": "payments"}


@pytest.mark.parametrize(
    "query, expected",
    [
        ('sum(rate(a{x="1"}[{{.window}}]))', ('a{x="1"}',)),
        ("sum(increase(a[{{.window}}])) + (sum(rate(b[{{.window}}])))", ("a", "b")),
        ("sum without () (rate(a[{{.window}}]))", ("a",)),
    ],
)
def test_queries_that_convert(query, expected):
    assert query_selectors(query, "s/x", "q") == expected


@pytest.mark.parametrize(
    "query",
    ["sum by (route) (rate(a[{{.window}}]))", "sum(rate(a[{{.window}}])) / 2", "max(rate(a[{{.window}}]))", "a"],
)
def test_queries_that_do_not_convert_are_refused(query):
    with pytest.raises(ImportError_, match="SLO 's/x' field 'q'"):
        query_selectors(query, "s/x", "q")


@pytest.mark.parametrize("kind, name", [("sloth", "sloth-checkout"), ("sloth", "sloth-k8s"), ("openslo", "openslo-v1alpha"), ("openslo", "openslo-v1")])
def test_cli_prints_python_that_defines_the_same_slos(kind, name, tmp_path):
    path = FIXTURES / f"{name}.yml"
    proc = _cli("import", kind, str(path))
    assert proc.returncode == 0, proc.stderr
    namespace: dict = {}
    exec(compile(proc.stdout, "imported.py", "exec"), namespace)  # what a user pastes into definitions/
    loaded = (load_sloth if kind == "sloth" else load_openslo)(path.read_text())
    assert [s.model_dump() for s in namespace["SLOS"]] == [s.model_dump() for s in loaded]
    # the imported SLOs compile to promtool-clean rules against declared metrics
    stack = _stack(namespace["SLOS"])
    files = compile_slos(stack.slos, {m.name: m for m in stack.metrics}, Links("http://grafana", "shop"))
    for rel, document in files.items():
        (tmp_path / Path(rel).name).write_text(yaml.safe_dump(document))
    assert toolchain.check_rules(sorted(tmp_path.glob("*.yml"))) == []


@pytest.mark.parametrize(
    "kind, name, message",
    [
        ("sloth", "sloth-grouped", "SLO 'checkout/per-route' field 'sli.events.error_query': only sums of sum(rate("),
        ("openslo", "openslo-timeslices", "SLO 'checkout/uptime' field 'spec.budgetingMethod': Timeslices"),
        ("openslo", "sloth-k8s", "not an OpenSLO document"),
        ("sloth", "openslo-v1", "not a Sloth prometheus/v1 spec"),
    ],
)
def test_cli_refuses_what_does_not_convert_with_exit_2(kind, name, message):
    proc = _cli("import", kind, str(FIXTURES / f"{name}.yml"))
    assert proc.returncode == 2
    assert proc.stdout == ""
    (line,) = proc.stderr.strip().splitlines()
    assert message in line


def test_an_invalid_objective_names_the_slo_and_field(tmp_path):
    spec = (FIXTURES / "sloth-k8s.yml").read_text().replace("objective: 99.9", "objective: 100")
    (tmp_path / "spec.yml").write_text(spec)
    proc = _cli("import", "sloth", str(tmp_path / "spec.yml"))
    assert proc.returncode == 2
    assert "SLO 'search/queries' field 'objective'" in proc.stderr
