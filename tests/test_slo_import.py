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
from sergas_observability.slo_import import ImportError_, load_openslo, load_pyrra, load_sloth, query_selectors

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
        slo_page_severity="P0",
        slo_ticket_severity="P1",
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
    # Sloth's severity labels are not ours: the Stack's slo_page_severity / slo_ticket_severity apply.
    assert (orders.page_severity, orders.ticket_severity) == ("", "")
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
    *refusals, summary = proc.stderr.strip().splitlines()
    assert summary.endswith("refused, 0 SLO(s) converted.")
    line = refusals[0]
    assert message in line


def test_an_invalid_objective_names_the_slo_and_field(tmp_path):
    spec = (FIXTURES / "sloth-k8s.yml").read_text().replace("objective: 99.9", "objective: 100")
    (tmp_path / "spec.yml").write_text(spec)
    proc = _cli("import", "sloth", str(tmp_path / "spec.yml"))
    assert proc.returncode == 2
    assert "SLO 'search/queries' field 'objective'" in proc.stderr


# -- malformed specs: one line naming the document, the SLO (or its position) and the field -----------------

SLOTH_SPEC = """\
version: prometheus/v1
service: search
slos:
  - name: queries
    objective: 99
    sli:
      events:
        errorQuery: sum(rate(shop_search_queries_total{result="error"}[{{.window}}]))
        totalQuery: sum(rate(shop_search_queries_total[{{.window}}]))
---
version: prometheus/v1
service: checkout
labels:
  team: payments
slos:
  - name: orders
    objective: 99.9
    description: Orders placed without error.
    labels:
      tier: one
    sli:
      events:
        error_query: sum(rate(shop_orders_total{result="error"}[{{.window}}]))
        total_query: sum(rate(shop_orders_total[{{.window}}]))
    alerting:
      name: CheckoutOrders
      annotations:
        runbook: https://runbooks.example.com/checkout/orders
      page_alert:
        disable: false
"""

OPENSLO_SPEC = """\
apiVersion: openslo/v1
kind: SLI
metadata:
  name: orders-ratio
spec:
  ratioMetric:
    bad:
      metricSource:
        type: Prometheus
        spec:
          query: shop_orders_total{result="error"}
    total:
      metricSource:
        type: Prometheus
        spec:
          query: shop_orders_total
---
apiVersion: openslo/v1
kind: SLO
metadata:
  name: orders
  labels:
    team: payments
spec:
  service: checkout
  indicatorRef: orders-ratio
  budgetingMethod: Occurrences
  timeWindow:
    - duration: 7d
      isRolling: true
  objectives:
    - target: 0.99
---
apiVersion: openslo/v1alpha
kind: SLO
metadata:
  name: queries
spec:
  service: search
  objectives:
    - ratioMetrics:
        good:
          source: prometheus
          query: sum(rate(shop_search_queries_total{result!="error"}[{{.window}}]))
        total:
          source: prometheus
          query: sum(rate(shop_search_queries_total[{{.window}}]))
      target: 0.995
  timeWindows:
    - count: 28
      unit: Day
      isRolling: true
"""

DELETE = object()


def _malformed(spec: str, document: int, path: str, value) -> str:
    """`spec` with one value of one YAML document (1-based) replaced, or deleted; `path` is dotted, list indices 0-based."""
    docs = list(yaml.safe_load_all(spec))
    *parents, last = [int(part) if part.isdigit() else part for part in path.split(".")]
    node = docs[document - 1]
    for part in parents:
        node = node[part]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return yaml.safe_dump_all(docs, sort_keys=False)


def test_the_inline_specs_convert():
    assert [s.key for s in load_sloth(SLOTH_SPEC)] == ["search/queries", "checkout/orders"]
    assert [s.key for s in load_openslo(OPENSLO_SPEC)] == ["checkout/orders", "search/queries"]


@pytest.mark.parametrize(
    "kind, document, path, value, who, field, message",
    [
        ("sloth", 2, "slos.0.objective", "high", "document 2: SLO 'checkout/orders'", "objective", "expected a number, got 'high'"),
        ("sloth", 2, "slos", {"orders": {"objective": 99.9}}, "document 2:", "slos", "expected a list, got a mapping"),
        ("sloth", 2, "service", DELETE, "document 2:", "service", "is missing"),
        ("sloth", 1, "service", ["search", "shop"], "document 1:", "service", "expected a string, got a list"),
        ("sloth", 2, "slos.0", "orders", "document 2: SLO #1", "slos", "expected a mapping, got 'orders'"),
        ("sloth", 2, "slos.0.name", DELETE, "document 2: SLO #1", "name", "is missing"),
        ("sloth", 2, "slos.0.labels", ["tier", "one"], "document 2: SLO 'checkout/orders'", "labels", "expected a mapping, got a list"),
        ("sloth", 2, "labels.team", ["a", "b"], "document 2:", "labels.team", "expected a string, got a list"),
        ("sloth", 2, "slos.0.alerting", "page me", "document 2: SLO 'checkout/orders'", "alerting", "expected a mapping, got 'page me'"),
        ("sloth", 2, "slos.0.alerting.page_alert.disable", "yes", "document 2: SLO 'checkout/orders'", "alerting.page_alert.disable",
         "expected true or false, got 'yes'"),
        ("sloth", 1, "slos.0.sli.events.errorQuery", ["a", "b"], "document 1: SLO 'search/queries'", "sli.events.errorQuery",
         "expected a string, got a list"),
        ("sloth", 2, "slos.0.objective", True, "document 2: SLO 'checkout/orders'", "objective", "expected a number, got True"),
        # the model's own checks, named as the spec spells the field
        ("sloth", 2, "slos.0.objective", 100, "document 2: SLO 'checkout/orders'", "objective", "100.0 is not a percentage in (0, 100), e.g. 99.5"),
        ("sloth", 2, "slos.0.alerting.name", "Checkout orders", "document 2: SLO 'checkout/orders'", "alerting.name",
         "'Checkout orders' must be CamelCase"),
        ("openslo", 2, "spec.objectives.0.target", "high", "document 2: SLO 'checkout/orders'", "spec.objectives.target",
         "expected a number, got 'high'"),
        ("openslo", 2, "spec.objectives", {"target": 0.99}, "document 2: SLO 'checkout/orders'", "spec.objectives", "expected a list, got a mapping"),
        ("openslo", 2, "spec.timeWindow", {"duration": "7d"}, "document 2: SLO 'checkout/orders'", "spec.timeWindow", "expected a list, got a mapping"),
        ("openslo", 2, "spec.service", DELETE, "document 2: SLO 'orders'", "spec.service", "is missing"),
        ("openslo", 2, "metadata.name", DELETE, "document 2:", "metadata.name", "is missing"),
        ("openslo", 2, "metadata.labels", ["team"], "document 2: SLO 'checkout/orders'", "metadata.labels", "expected a mapping, got a list"),
        ("openslo", 2, "spec.indicatorRef", ["orders-ratio"], "document 2: SLO 'checkout/orders'", "spec.indicatorRef", "expected a string, got a list"),
        ("openslo", 1, "spec.ratioMetric.bad.metricSource.spec.query", ["a"], "document 1: SLI 'orders-ratio'",
         "spec.ratioMetric.bad.metricSource.spec.query", "expected a string, got a list"),
        ("openslo", 3, "spec.objectives.0", 0.995, "document 3: SLO 'search/queries'", "spec.objectives", "expected a mapping, got 0.995"),
        ("openslo", 3, "spec.objectives.0.ratioMetrics.total", "all", "document 3: SLO 'search/queries'", "spec.objectives.ratioMetrics.total",
         "expected a mapping, got 'all'"),
        ("openslo", 3, "spec.timeWindows.0.count", "many", "document 3: SLO 'search/queries'", "spec.timeWindows.count",
         "expected a whole number, got 'many'"),
        ("openslo", 2, "spec.objectives.0.target", 1.5, "document 2: SLO 'checkout/orders'", "spec.objectives.target",
         "150.0 is not a percentage in (0, 100), e.g. 99.5"),
    ],
)
def test_cli_answers_a_malformed_spec_with_one_line(kind, document, path, value, who, field, message, tmp_path):
    spec = tmp_path / f"{kind}.yml"
    spec.write_text(_malformed(SLOTH_SPEC if kind == "sloth" else OPENSLO_SPEC, document, path, value))
    proc = _cli("import", kind, str(spec))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    line, summary = proc.stderr.splitlines()  # the mistake, then what converted (the other SLOs still print)
    assert line == f"error: {spec}: {who} field '{field}': {message}"
    assert summary.startswith("1 SLO(s) or document(s) refused, ")
    converted = int(summary.split(", ")[1].split()[0])
    assert proc.stdout.count("    SLO(") == converted


@pytest.mark.parametrize(
    "load, text, message",
    [
        (load_sloth, "", "the file holds no YAML document"),
        (load_openslo, "# nothing but a comment\n---\n", "the file holds no YAML document"),
        (load_sloth, SLOTH_SPEC + "---\n- a list\n", "document 3[1]: expected a mapping, got 'a list'"),
        (load_sloth, "version: prometheus/v1\nslos: [\n", "not YAML: did not find expected node content (line 3)"),
        (load_sloth, "version: prometheus/v1\nservice: shop\nslos: []\n", "document 1: field 'slos': at least one SLO is needed"),
        (load_sloth, "kind: PrometheusServiceLevel\nspec:\n  service: shop\n  slos: {a: 1}\n",
         "document 1: field 'spec.slos': expected a list, got a mapping"),
        (load_sloth, SLOTH_SPEC.replace("      events:\n        errorQuery", "      raw:\n        errorQuery"),
         "document 1: SLO 'search/queries' field 'sli.raw.error_ratio_query': query is missing"),
        (load_sloth, SLOTH_SPEC.replace("      events:\n        errorQuery", "      plugin:\n        errorQuery"),
         "document 1: SLO 'search/queries' field 'sli.plugin': only event and raw SLIs convert (plugins do not)"),
        (load_openslo, OPENSLO_SPEC.replace("indicatorRef: orders-ratio", "indicatorRef: nope"),
         "document 2: SLO 'checkout/orders' field 'spec.indicatorRef': no SLI named 'nope' in this file"),
        (load_openslo, OPENSLO_SPEC.split("---")[0], "no OpenSLO document of kind SLO in the file"),
        (load_openslo, OPENSLO_SPEC.replace("  labels:\n    team: payments\n", "  annotations:\n    runbook: [a]\n"),
         "document 2: SLO 'checkout/orders' field 'metadata.annotations.runbook': expected a string, got a list"),
    ],
)
def test_loaders_raise_import_errors_with_exact_messages(load, text, message):
    with pytest.raises(ImportError_) as caught:
        load(text)
    assert str(caught.value) == message


def test_each_slo_converts_on_its_own_and_the_common_shapes_convert():
    """Raw ratios, count - bucket latency, spaced placeholders, `or vector(0)` and an SLO
    with no alerts convert; the one grouped SLO is refused by name while the others still print."""
    proc = _cli("import", "sloth", str(FIXTURES / "sloth-shapes.yml"))
    assert proc.returncode == 2
    refusal, summary = proc.stderr.strip().splitlines()
    assert "SLO 'shop/per-route' field 'sli.events.error_query': only sums of" in refusal
    assert summary == "1 SLO(s) or document(s) refused, 4 SLO(s) converted."
    namespace: dict = {}
    exec(compile(proc.stdout, "imported.py", "exec"), namespace)
    slos = {s.name: s for s in namespace["SLOS"]}
    assert slos["payments-raw"].sli.model_dump() == RatioSLI(bad='shop_payments_total{result="error"}', total="shop_payments_total").model_dump()
    assert (slos["checkout-latency"].sli.histogram, slos["checkout-latency"].sli.threshold) == ('shop_request_duration_seconds{route="/checkout"}', 0.5)
    assert slos["search-filled"].sli.bad == ('shop_search_queries_total{result="error"}',)
    assert slos["payments-report"].tiers == () and "BurnRateTier" not in proc.stdout  # recorded, never alerted on
    refused: list[str] = []
    assert [s.name for s in load_sloth((FIXTURES / "sloth-shapes.yml").read_text(), refused=refused)] == list(slos)
    assert len(refused) == 1
    with pytest.raises(ImportError_, match="shop/per-route"):  # without `refused`, the first refusal raises
        load_sloth((FIXTURES / "sloth-shapes.yml").read_text())


def test_an_openslo_list_and_a_bucket_over_count_convert():
    proc = _cli("import", "openslo", str(FIXTURES / "openslo-list.yml"))
    assert proc.returncode == 0, proc.stderr
    namespace: dict = {}
    exec(compile(proc.stdout, "imported.py", "exec"), namespace)
    fast, orders = namespace["SLOS"]
    assert (fast.sli.type, fast.sli.threshold, fast.period, fast.objective) == ("latency", 0.25, "28d", 95.0)
    assert orders.sli.bad == ('shop_orders_total{result="error"}',)


@pytest.mark.parametrize("query, expected", [
    ("sum(rate(x[{{ .window }}]))", ("x",)),
    ("sum(rate(x{a=\"b\"}[{{.window }}])) or vector(0)", ('x{a="b"}',)),
])
def test_window_spellings_and_filled_rates(query, expected):
    assert query_selectors(query, "s/x", "q") == expected


def test_pyrra_ratio_latency_grouping_and_bool_gauges_convert():
    refused: list[str] = []
    slos = load_pyrra((FIXTURES / "pyrra.yml").read_text(), refused=refused)
    orders, latency, probe = slos
    assert (orders.key, orders.objective, orders.period, orders.group_by) == ("shop/orders-errors", 99.5, "4w", ("route",))
    assert orders.sli.bad == ('shop_orders_total{result="error"}',) and orders.sli.total == ("shop_orders_total",)
    assert (latency.sli.type, latency.sli.histogram, latency.sli.threshold) == ("latency", 'shop_request_duration_seconds{route="/checkout"}', 1.0)
    # A bool_gauge's samples are its events; no Pyrra field says how often it is scraped.
    assert (probe.key, probe.sli.type, probe.sli.success, probe.sli.interval) == ("shop/probe-up", "probe", 'probe_success{job="blackbox"}', "1m")
    assert refused == []
    proc = _cli("import", "pyrra", str(FIXTURES / "pyrra.yml"))
    assert proc.returncode == 0 and proc.stdout.count("    SLO(") == 3
    assert "sli=ProbeSLI(success='probe_success{job=\"blackbox\"}', interval=\"1m\"),  # interval: how often the gauge is scraped" in proc.stdout


def test_openslo_calendar_windows_and_0_1_threshold_metrics_convert_and_the_rest_is_named():
    refused: list[str] = []
    monthly, weekly, probe = load_openslo((FIXTURES / "openslo-calendar.yml").read_text(), refused=refused)
    assert (monthly.key, monthly.period, monthly.calendar) == ("storefront/payments-monthly", "30d", ("month",))
    assert (weekly.key, weekly.period, weekly.calendar) == ("storefront/search-weekly", "7d", ("week",))
    assert (probe.key, probe.period, probe.calendar, probe.sli.type, probe.sli.success) == (
        "storefront/homepage-probe", "28d", (), "probe", 'probe_success{job="storefront"}')
    assert refused == [
        "document 4: SLO 'storefront/payments-madrid' field 'spec.timeWindow.calendar.timeZone': the calendar counts are UTC; time zone 'Europe/Madrid' does not convert",
        "document 5: SLO 'storefront/payments-quarterly' field 'spec.timeWindow.duration': calendar windows convert for one month or one week (1M, 1w); 1Q does not",
        "document 6: SLO 'storefront/search-p99' field 'spec.objectives.op': a threshold metric converts as a 0/1 gauge (op gte, value 1: each sample is an event);"
        " shop_search_p99_seconds lt 0.5 has no equivalent (a quantile's samples are not events)",
    ]
    text = (FIXTURES / "openslo-calendar.yml").read_text()
    with pytest.raises(ImportError_, match=r"spec.timeWindow.calendar.startTime': a week starts at 00:00 UTC on a Monday; '2026-01-06 00:00:00' does not"):
        load_openslo(text.replace('startTime: "2026-01-05 00:00:00"', 'startTime: "2026-01-06 00:00:00"'))
    with pytest.raises(ImportError_, match=r"startTime': a month starts at 00:00 UTC on the 1st; '2026-01-01 06:00:00' does not"):
        load_openslo(text.replace('startTime: "2026-01-01 00:00:00"\n        timeZone: UTC', 'startTime: "2026-01-01 06:00:00"\n        timeZone: UTC'))


def test_pyrra_target_must_be_a_percentage():
    with pytest.raises(ImportError_, match=r"spec.target': expected a percentage such as '99.5', got True"):
        load_pyrra((FIXTURES / "pyrra.yml").read_text().replace('target: "99.5"', "target: true"))


def test_yaml_scalars_in_labels_are_the_text_they_were_written_as():
    spec = """
version: prometheus/v1
service: shop
labels:
  generated: true
  tier: 1
slos:
  - name: orders
    objective: 99.5
    sli:
      events:
        error_query: sum(rate(shop_orders_total{result="error"}[{{.window}}]))
        total_query: sum(rate(shop_orders_total[{{.window}}]))
    alerting:
      name: OrdersBudgetBurn
"""
    (slo,) = load_sloth(spec)
    assert slo.labels == {"generated": "true", "tier": "1"}
