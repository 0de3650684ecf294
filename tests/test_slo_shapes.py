"""Detection times are proven once per rule shape: the claim that makes that sound.

Two SLOs share a shape when their rules are the same but for their selectors
and identity. Then the timing suite of one, replayed against the other's
rules and series, must pass too: proven here with promtool for a pair, and
refused for a pair whose shapes differ.
"""

from __future__ import annotations

import subprocess

import pytest
import yaml

from sergas_observability import toolchain
from sergas_observability.compile.slo import Links, compile_slos, rule_shape
from sergas_observability.compile.slo_tests import SLOTests
from sergas_observability.model import SLO, BurnRateTier, LatencySLI, Label, Metric, ProbeSLI, RatioSLI

METRICS = {
    "http_requests_total": Metric(name="http_requests_total", kind="counter", help="Requests.",
                                  labels=(Label(name="code", values=("200", "500")), "handler")),
    "http_request_duration_seconds": Metric(name="http_request_duration_seconds", kind="histogram", help="Latency.",
                                            unit="seconds", labels=("handler",), buckets=(0.1, 0.5, 1.0)),
}


def slo(**changes) -> SLO:
    fields = dict(service="shop", name="checkout", objective=99.5, runbook_url="https://runbooks.example.com/checkout",
                  sli=RatioSLI(bad='http_requests_total{handler="/checkout",code="500"}', total='http_requests_total{handler="/checkout"}'))
    return SLO(**{**fields, **changes})


SAME = slo(service="catalog", name="browse", runbook_url="https://runbooks.example.com/browse", labels={"team": "web"},
           annotations={"owner": "web"}, description="Browsing works.",
           sli=RatioSLI(bad='http_requests_total{handler="/browse",code="500"}', total='http_requests_total{handler="/browse"}'))


def shape(s: SLO) -> tuple:
    return rule_shape(s, METRICS)


def test_identity_selectors_labels_and_annotations_are_not_the_shape():
    assert shape(slo()) == shape(SAME)


@pytest.mark.parametrize("other", [
    slo(objective=99.9),
    slo(period="28d"),
    slo(min_bad_events=5),
    slo(tiers=(BurnRateTier(long="1h", short="5m", burn_rate=14.4, action="page"), BurnRateTier(long="3d", short="6h", burn_rate=1, action="ticket"))),
    slo(sli=RatioSLI(good='http_requests_total{handler="/checkout",code="200"}', total='http_requests_total{handler="/checkout"}')),
    slo(sli=RatioSLI(bad=('http_requests_total{code="500"}', 'http_requests_total{code="503"}'), total="http_requests_total")),
    slo(sli=LatencySLI(histogram='http_request_duration_seconds{handler="/checkout"}', threshold=0.5)),
], ids=["objective", "period", "min_bad_events", "tiers", "good-over-total", "two-bad-selectors", "latency"])
def test_what_changes_the_rules_changes_the_shape(other):
    assert shape(other) != shape(slo())


def _replay(tmp_path, rules_of: SLO, timing_of: SLO) -> subprocess.CompletedProcess[str]:
    """The timing suite built for `timing_of`, evaluated against the rules and series of `rules_of`."""
    links = Links("http://grafana.example.com", "shop", "page", "ticket")
    (document,) = compile_slos([rules_of], METRICS, links).values()
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(document))
    tests = SLOTests(timing_of, METRICS, links).minute_tests()
    own = SLOTests(rules_of, METRICS, links)
    text = yaml.safe_dump({"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": tests})
    # The suite of `timing_of`, with the names and series of `rules_of`: exactly what the shape claim transfers.
    for (theirs, _, _), (ours, _, _) in zip(SLOTests(timing_of, METRICS, links).series, own.series):
        text = text.replace(theirs, ours)
    for tier in timing_of.tiers:
        text = text.replace(timing_of.tier_alert_name(tier), rules_of.tier_alert_name(tier))
    # Labels and annotations are each SLO's own (checked by its own tests): expect those of `rules_of`.
    expected = {rules_of.tier_alert_name(tier): own._expected(tier) for tier in rules_of.tiers}
    doc = yaml.safe_load(text)
    for test in doc["tests"]:
        for check in test.get("alert_rule_test", []):
            check["exp_alerts"] = [expected[check["alertname"]] for _ in check["exp_alerts"]]
    (tmp_path / "timing.test.yml").write_text(yaml.safe_dump(doc))
    return subprocess.run([toolchain.binary("promtool"), "test", "rules", "timing.test.yml"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_one_shapes_timing_holds_for_another_slo_of_that_shape(tmp_path):
    result = _replay(tmp_path, rules_of=SAME, timing_of=slo())
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.mark.slow
def test_the_timing_of_another_shape_fails(tmp_path):
    """The replay is not vacuous: at 99.9 % the same scenarios fire at other times."""
    result = _replay(tmp_path, rules_of=slo(objective=99.9, service="catalog", name="browse",
                                            sli=SAME.sli), timing_of=slo())
    assert result.returncode != 0
    assert "BudgetBurn" in result.stdout + result.stderr


@pytest.mark.parametrize("other", [slo(), SAME, slo(group_by=("handler",), sli=RatioSLI(bad='http_requests_total{code="500"}', total="http_requests_total")),
                                   slo(sli=LatencySLI(histogram='http_request_duration_seconds{handler="/checkout"}', threshold=0.5))],
                         ids=["ratio", "other-identity", "grouped", "latency"])
def test_the_shape_is_every_compiled_rule_but_the_alerts_names_labels_and_annotations(other):
    """The shape is every rule slo_groups compiles, over placeholder selectors, less the alerts' names, labels and annotations."""
    from sergas_observability.compile.slo import SLIEvents, slo_groups, slo_matchers

    groups = slo_groups(other, METRICS, Links("", ""), SLIEvents(other.sli, METRICS, other.group_by).anonymous())
    expected = [
        (group["interval"], rule.get("record", "alert"), rule.get("labels", {}).get("event"), rule.get("labels", {}).get("window"),
         rule["expr"].replace(slo_matchers(other), "<slo>"))
        for group in groups for rule in group["rules"]
    ]
    assert list(shape(other)) == expected


@pytest.mark.parametrize("other", [slo(), slo(group_by=("handler",), sli=RatioSLI(bad='http_requests_total{code="500"}', total="http_requests_total")),
                                   slo(sli=RatioSLI(good='http_requests_total{code="200"}', total="http_requests_total")),
                                   slo(sli=LatencySLI(histogram='http_request_duration_seconds{handler="/checkout"}', threshold=0.5)),
                                   slo(sli=ProbeSLI(success='probe_success{job="blackbox"}', interval="30s"))],
                         ids=["ratio", "grouped", "good-total", "latency", "probe"])
def test_rules_filled_into_their_shape_are_the_rules_built_from_the_selectors(other):
    """slo_groups builds the rules over placeholders (their shape) and puts the selectors back: exactly
    the rules built from the selectors directly; the shape it leaves is the one computed afresh."""
    from sergas_observability.compile import slo as compiler

    links = Links("http://grafana", "demo", "P0", "P1")
    direct = compiler.slo_groups(other, METRICS, links, compiler.SLIEvents(other.sli, METRICS, other.group_by))
    compiler._SHAPES.clear()
    fresh = rule_shape(other, METRICS)
    compiler._SHAPES.clear()
    assert compiler.slo_groups(other, METRICS, links) == direct
    assert "\0" not in str(direct) and rule_shape(other, METRICS) == fresh
