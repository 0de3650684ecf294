"""SLO declarations: bad input is one line naming the SLO and the field; exit 2 and generated/ untouched."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sergas_observability.model import (
    SLO,
    BurnRateTier,
    DefinitionError,
    Environment,
    LatencySLI,
    Metric,
    RatioSLI,
    ScrapeJob,
    Severity,
    SlackReceiver,
    Stack,
)
from sergas_observability.lint import ensure_valid
from sergas_observability.output import read_tree, write_tree

REQUESTS = Metric(name="demo_requests_total", kind="counter", help="Requests.", labels=("status",))
LATENCY = Metric(name="demo_duration_seconds", kind="histogram", unit="seconds", help="Time.", buckets=(0.1, 0.5, 1.0))
AVAILABILITY = dict(
    service="demo", name="availability", objective=99.5, runbook_url="https://runbooks.example.com/demo",
    sli=RatioSLI(bad='demo_requests_total{status=~"5.."}', total="demo_requests_total"),
)


def _stack(*slos: SLO, severities: tuple[str, ...] = ("P0", "P1")) -> Stack:
    return ensure_valid(Stack(
        name="demo",
        environments=(Environment(name="production", external_labels={"env": "production"}),),
        metrics=(REQUESTS, LATENCY),
        scrape_jobs=(ScrapeJob(name="demo", targets={"production": ("demo:8000",)}),),
        receivers=(SlackReceiver(name="slack", api_url_file="/run/secrets/slack", channel="#a"),),
        severities=tuple(Severity(name=s, description=s, receivers=("slack",)) for s in severities),
        default_receiver="slack",
        slo_page_severity="P0",
        slo_ticket_severity="P1",
        slos=slos,
    ))


def _error(build) -> str:
    with pytest.raises(DefinitionError) as info:
        build()
    return info.value.one_line()


@pytest.mark.parametrize("objective", [0, 100, 150, -1])
def test_objective_outside_0_100(objective):
    message = _error(lambda: SLO(**{**AVAILABILITY, "objective": objective}))
    assert "SLO 'availability' field 'objective'" in message and "(0, 100)" in message


def test_latency_threshold_must_be_a_declared_bucket():
    slo = SLO(**{**AVAILABILITY, "name": "latency", "sli": LatencySLI(histogram="demo_duration_seconds", threshold=0.3)})
    message = _error(lambda: _stack(slo))
    assert "SLO 'latency' field 'sli.threshold'" in message and "0.1, 0.5, 1" in message
    good = SLO(**{**AVAILABILITY, "name": "latency", "sli": LatencySLI(histogram="demo_duration_seconds", threshold=0.5)})
    assert _stack(good).slos == (good,)


def test_latency_needs_a_histogram_family():
    slo = SLO(**{**AVAILABILITY, "sli": LatencySLI(histogram="demo_requests_total", threshold=1)})
    assert "is a counter, not a histogram" in _error(lambda: _stack(slo))
    assert "field 'sli.histogram'" in _error(lambda: SLO(**{**AVAILABILITY, "sli": LatencySLI(histogram="demo_duration_seconds_bucket", threshold=1)}))


def test_unknown_metric_and_label():
    slo = SLO(**{**AVAILABILITY, "sli": RatioSLI(bad='demo_request_total{status="500"}', total="demo_requests_total")})
    message = _error(lambda: _stack(slo))
    assert "SLO 'availability' field 'sli.bad': metric 'demo_request_total' is not declared" in message
    assert "did you mean 'demo_requests_total'" in message
    slo = SLO(**{**AVAILABILITY, "sli": RatioSLI(bad='demo_requests_total{code="500"}', total="demo_requests_total")})
    assert "field 'sli.bad': 'demo_requests_total' has no label 'code'" in _error(lambda: _stack(slo))
    # scrape labels need no declaration
    slo = SLO(**{**AVAILABILITY, "sli": RatioSLI(bad='demo_requests_total{job="demo",status="500"}', total='demo_requests_total{job="demo"}')})
    assert _stack(slo).slos == (slo,)


def test_selectors_only_no_window_templates():
    message = _error(lambda: SLO(**{**AVAILABILITY, "sli": RatioSLI(bad="sum(rate(demo_requests_total[{{.window}}]))", total="demo_requests_total")}))
    assert "field 'sli.bad'" in message
    message = _error(lambda: SLO(**{**AVAILABILITY, "sli": RatioSLI(bad="rate(demo_requests_total[5m])", total="demo_requests_total")}))
    assert "field 'sli.bad'" in message and "plain selector" in message
    assert "exactly two of bad, good and total" in _error(lambda: SLO(**{**AVAILABILITY, "sli": RatioSLI(bad="demo_requests_total")}))


def test_period_shorter_than_the_longest_window():
    message = _error(lambda: SLO(**{**AVAILABILITY, "period": "2d"}))
    assert "SLO 'availability' field 'period': period 2d is shorter than the longest alert window 3d" in message
    assert SLO(**{**AVAILABILITY, "period": "7d"}).period == "7d"


def test_an_slo_is_checked_once_and_a_changed_copy_again(monkeypatch):
    """Pydantic re-runs after-validators on a nested instance: the one that passed is not checked twice,
    a copy given other values is (model_copy validates nothing itself)."""
    calls = []
    check = SLO._check_sli
    monkeypatch.setattr(SLO, "_check_sli", lambda self: (calls.append(self.name), check(self))[1])
    slo = SLO(**AVAILABILITY)
    assert _stack(slo).slos == (slo,)
    assert calls == ["availability"]  # built, then nested in the Stack: checked once
    for deep in (False, True):
        short = slo.model_copy(update={"period": "2d"}, deep=deep)
        assert "SLO 'availability' field 'period': period 2d is shorter than the longest alert window 3d" in _error(lambda: _stack(short))
    same = slo.model_copy(deep=True)
    calls.clear()
    assert _stack(same).slos == (slo,)
    assert calls == ["availability"]  # a copy is checked again, even an unchanged one


def test_duplicate_slo():
    message = _error(lambda: _stack(SLO(**AVAILABILITY), SLO(**AVAILABILITY)))
    assert "SLO 'availability' field 'name': duplicate SLO 'demo/availability'" in message
    other_service = SLO(**{**AVAILABILITY, "service": "other"})
    assert len(_stack(SLO(**AVAILABILITY), other_service).slos) == 2


def test_unknown_severity():
    message = _error(lambda: _stack(SLO(**AVAILABILITY), severities=("P0",)))
    assert "Stack 'demo' field 'slo_ticket_severity': unknown severity 'P1' (known: P0)" in message  # the stack's default
    message = _error(lambda: _stack(SLO(**AVAILABILITY, ticket_severity="P3"), severities=("P0", "P1")))
    assert "SLO 'availability' field 'ticket_severity': unknown severity 'P3' (known: P0, P1)" in message


def test_tiers_scale_with_the_period():
    rates = lambda period: [t.rate_for(SLO(**{**AVAILABILITY, "period": period}).period_seconds) for t in SLO(**AVAILABILITY).tiers]
    assert rates("30d") == [14.4, 6.0, 2.1, 1.2]
    assert rates("28d") == [13.44, 5.6, 1.96, 1.2]  # 12 % of 28 days in 3 is 1.12x: raised to the 1.2x floor
    assert rates("7d")[2:] == [1.2, 1.2]  # a 7-day SLO's tickets would otherwise alert on sustainable burns (0.49x, 0.28x)
    custom = BurnRateTier(long="2h", short="10m", action="page", burn_rate=10)
    assert SLO(**{**AVAILABILITY, "tiers": (custom,)}).windows == ("5m", "10m", "2h")
    assert "short window 1h must be shorter" in _error(lambda: BurnRateTier(long="1h", short="1h", action="page", burn_rate=2))
    assert "share a long window" in _error(lambda: SLO(**{**AVAILABILITY, "tiers": (custom, custom)}))


def test_recorded_series_are_known_to_other_queries():
    stack = _stack(SLO(**AVAILABILITY))
    series = stack.series_labels()
    assert series["slo:burn_rate:ratio"] == ("service", "slo", "window")
    assert "slo:error_budget_remaining:ratio" in series and "slo:objective:ratio" in series


BAD_DEFS = '''
from sergas_observability.model import *
stack = Stack(
    name="demo",
    environments=(Environment(name="production", external_labels={"env": "production"}),),
    metrics=(Metric(name="demo_requests_total", kind="counter", help="Requests.", labels=("status",)),),
    scrape_jobs=(ScrapeJob(name="demo", targets={"production": ("demo:8000",)}),),
    receivers=(SlackReceiver(name="slack", api_url_file="/run/secrets/slack", channel="#a"),),
    severities=(Severity(name="P0", description="p", receivers=("slack",)), Severity(name="P1", description="t", receivers=("slack",))),
    default_receiver="slack",
    slo_page_severity="P0",
    slo_ticket_severity="P1",
    slos=(SLO(service="demo", name="availability", objective=OBJECTIVE, runbook_url="https://r.example.com",
              sli=RatioSLI(bad='demo_requests_total{status=~"5.."}', total="demo_requests_total")),),
)
'''


def test_cli_bad_slo_exits_2_with_one_line_and_leaves_generated_untouched(tmp_path: Path):
    out = tmp_path / "generated"
    write_tree({"keep.txt": "previous output\n"}, out)
    (tmp_path / "demo_defs.py").write_text(textwrap.dedent(BAD_DEFS.replace("OBJECTIVE", "100.0")))
    proc = subprocess.run(
        [sys.executable, "-m", "sergas_observability.cli", "generate", "--definitions", "demo_defs", "--out", str(out)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert "SLO 'availability' field 'objective'" in lines[0]
    assert read_tree(out) == {"keep.txt": "previous output\n"}
    # the same definitions with a valid objective generate the SLO's files
    (tmp_path / "demo_defs.py").write_text(textwrap.dedent(BAD_DEFS.replace("OBJECTIVE", "99.9")))
    proc = subprocess.run(
        [sys.executable, "-m", "sergas_observability.cli", "generate", "--definitions", "demo_defs", "--out", str(out)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "prometheus/rules/slo-demo-availability.yml" in read_tree(out)


def test_a_derived_definition_is_what_model_construct_builds():
    """Definition.derived builds SLO dashboard panels without model_construct's machinery: the same instance."""
    from sergas_observability.model.dashboards import Panel, Query

    queries = (Query.derived("a.py:1", expr="up", legend="x"),)
    for cls, fields in ((Query, {"expr": "up", "legend": "x"}), (Panel, {"title": "t", "queries": queries, "width": 4}), (Panel, {"title": "t"})):
        made, expected = cls.derived("a.py:1", **fields), cls.model_construct(**fields)
        expected._origin = "a.py:1"
        assert list(made.__dict__.items()) == list(expected.__dict__.items())  # values and field order
        assert made.__pydantic_fields_set__ == expected.__pydantic_fields_set__ and made.__pydantic_extra__ is None
        assert made.__pydantic_private__ == expected.__pydantic_private__ and made.origin == "a.py:1"
    assert Panel.derived(None, title="a").value_text is not Panel.derived(None, title="b").value_text  # each its own default
    with pytest.raises(AssertionError, match="no field"):
        Panel.derived(None, titel="t")


def test_a_definition_error_crosses_a_process_boundary_whole():
    """generate's validation pass receives the load errors pickled: every part of the line survives."""
    import pickle

    error = DefinitionError("SLO 'availability'", "period", "too short", "definitions/slos.py:12")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.where, copy.field, copy.message, copy.origin, copy.one_line()) == (
        error.where, error.field, error.message, error.origin, error.one_line())


def test_a_value_kept_per_definitions_is_kept_per_the_very_objects():
    """KeptPer: one computation per set of objects (the SLO tests' inputs and the rule shapes ask
    several times), an equal but distinct definition its own entry, and the limit empties it."""
    from sergas_observability.model.base import KeptPer

    kept: KeptPer[str] = KeptPer(limit=2)
    calls = []
    first, twin = SLO(**AVAILABILITY), SLO(**AVAILABILITY)
    assert first == twin and first is not twin
    compute = lambda name: lambda: calls.append(name) or name  # noqa: E731
    assert kept.get((first, REQUESTS), compute("a")) == "a"
    assert kept.get((first, REQUESTS), compute("b")) == "a"  # kept
    assert kept.get((twin, REQUESTS), compute("c")) == "c"  # another object: another entry
    assert calls == ["a", "c"]
    kept.put((first,), "d")  # a third entry: the limit of 2 empties the memo first
    assert kept.get((first, REQUESTS), compute("e")) == "e"  # computed again
    assert kept.get((first,), compute("f")) == "d" and calls == ["a", "c", "e"]
