"""The lint reads SLOs too: their SLI selectors, as the SLO compiler rates them,
and the series the SLO compiler records, which alerts and dashboards may read."""

from __future__ import annotations

from lint_stacks import dashboard, panel, stack

from sergas_observability.lint import lint_stack
from sergas_observability.model import SLO, LatencySLI, Query, RatioSLI

RUNBOOK = "https://runbooks.example.com/slo.md"


def _slo(sli, name: str = "availability") -> SLO:
    return SLO(service="app", name=name, objective=99.0, sli=sli, runbook_url=RUNBOOK)


def test_sli_selectors_are_cross_referenced():
    availability = _slo(RatioSLI(bad='http_requests_total{method="GTE"}', total='http_requests_total{job="ap"}'))
    report = lint_stack(stack(slos=(availability,)))
    found = sorted((f.rule, f.where, f.field, f.message) for f in report.active)
    assert [(rule, where, field) for rule, where, field, _ in found] == [
        ("promql/unknown-label-value", "SLO 'availability'", "sli.bad"),
        ("promql/unknown-label-value", "SLO 'availability'", "sli.total"),
    ]
    assert "(did you mean 'GET'?)" in found[0][3] and "(did you mean 'app'?)" in found[1][3]


def test_a_latency_sli_reads_the_bucket_series():
    latency = _slo(LatencySLI(histogram='http_request_duration_seconds{job="ap"}', threshold=0.5), "latency")
    report = lint_stack(stack(slos=(latency,)))
    [item] = report.active
    # checked on the _bucket series, as the SLO compiler reads it
    assert item.rule == "promql/unknown-label-value" and item.field == "sli.histogram"
    assert "'http_request_duration_seconds_bucket{job=...}': 'ap' is never a value of 'job'" in item.message


def test_recorded_slo_series_are_readable_with_their_labels():
    availability = _slo(RatioSLI(bad='http_requests_total{status=~"5.."}', total="http_requests_total"))

    def with_panel(expr: str):
        return stack(slos=(availability,), dashboards=(dashboard(panel(), panel(title="SLO", queries=(Query(expr=expr),), unit="percentunit")),))

    assert lint_stack(with_panel('min by (slo) (slo:error_budget_remaining:ratio{service="app"})')).active == []
    [item] = lint_stack(with_panel('min by (sloo) (slo:error_budget_remaining:ratio{service="app"})')).active
    assert item.rule == "promql/unknown-label" and "(did you mean 'slo'?)" in item.message
