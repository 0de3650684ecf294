"""The lint corpus: small broken stacks, each with the exact findings it must produce.

Every case starts from the clean stack of lint_stacks.py (which lints clean,
see the first test), breaks one thing, and lists every active finding the
lint must report: rule id, the definition named, and a fragment of the
message. Nothing else may be reported. promtool runs for real.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from lint_stacks import RULES, alert, dashboard, panel, stack, with_alert, with_query

from sergas_observability.lint import RULES as LINT_RULES
from sergas_observability.lint import lint_stack
from sergas_observability.model import Metric, RecordingRule, Stack

ALERT = "Alert 'HighErrorRate'"
PANEL = "Panel 'Requests'"
DASH = "Dashboard 'App overview'"
RATE = "rate(http_requests_total[2m])"

Case = tuple[str, Callable[[], Stack], list[tuple[str, str, str]]]

CASES: list[Case] = [
    # --- alert links ---------------------------------------------------------------------------
    ("alert-dashboard-without-its-metric",
     lambda: with_alert(expr="pg_up == 0", description="{{ $labels.instance }} cannot reach PostgreSQL."),
     [("dashboard/alert-metric-missing", ALERT, "dashboard 'app-overview' shows none of pg_up")]),
    # --- PromQL cross-reference: labels -------------------------------------------------------
    ("matcher-label-typo",
     lambda: with_alert(expr='sum by (job) (rate(http_requests_total{rout="/x"}[2m])) > 1'),
     [("promql/unknown-label", ALERT, "selector 'http_requests_total': no label 'rout' (did you mean 'route'?)")]),
    ("by-label-typo",
     lambda: with_alert(expr=f"sum by (job, methd) ({RATE}) > 1"),
     [("promql/unknown-label", ALERT, "no label 'methd' (did you mean 'method'?)")]),
    ("label-dropped-by-inner-aggregation",
     lambda: with_alert(expr=f"sum by (job, route) (sum by (job, method) ({RATE})) > 1"),
     [("promql/unknown-label", ALERT, "sum by (job, route): no label 'route'")]),
    ("without-label-missing",
     lambda: with_alert(expr=f"sum without (instnce) ({RATE}) > 1"),
     [("promql/unknown-label", ALERT, "sum without (instnce): no label 'instnce' (did you mean 'instance'?)")]),
    ("on-label-missing-right",
     lambda: with_alert(expr=f"sum by (job, route) ({RATE}) / on (route) group_left sum by (job) ({RATE}) > 1"),
     [("promql/unknown-label", ALERT, "on (route), right side: no label 'route'")]),
    ("group-left-label-missing",
     lambda: with_alert(expr="rate(pg_stat_database_deadlocks[2m]) * on (job) group_left (version) pg_up > 1"),
     [("promql/unknown-label", ALERT, "group_left (version), right side: no label 'version'")]),
    ("ignoring-label-on-neither-side",
     lambda: with_alert(expr=f"sum by (job) ({RATE}) / ignoring (le) sum by (job) ({RATE}) > 1"),
     [("promql/unknown-label", ALERT, "ignoring (le): no label 'le'")]),
    ("label-replace-source-missing",
     lambda: with_alert(expr=f'label_replace(sum by (job) ({RATE}), "r", "$1", "route", "(.*)") > 1'),
     [("promql/unknown-label", ALERT, "label_replace() source label: no label 'route'")]),
    ("external-label-matcher",
     lambda: with_alert(expr='pg_up{env="development"} == 0'),
     [("promql/external-label", ALERT, "'env' is an external label")]),
    # --- label values -------------------------------------------------------------------------
    ("declared-value-typo",
     lambda: with_alert(expr='sum by (job) (rate(http_requests_total{method="GTE"}[2m])) > 1'),
     [("promql/unknown-label-value", ALERT, "'GTE' is never a value of 'method' (GET, POST, __overflow__), so the matcher matches nothing (did you mean 'GET'?)")]),
    ("regex-matches-no-value",
     lambda: with_alert(expr='sum by (job) (rate(http_requests_total{method=~"PUT|PATCH"}[2m])) > 1'),
     [("promql/unknown-label-value", ALERT, "matches none of the values of 'method'")]),
    ("job-renamed",
     lambda: with_alert(expr='pg_up{job="postgres-exporter"} == 0'),
     [("promql/unknown-label-value", ALERT, "'postgres-exporter' is never a value of 'job' (postgres)")]),
    ("bucket-not-declared",
     lambda: with_alert(expr='sum by (job) (rate(http_request_duration_seconds_bucket{le="0.3"}[2m])) > 1'),
     [("promql/unknown-label-value", ALERT, "'0.3' is never a value of 'le'")]),
    ("bucket-spelt-as-integer",
     lambda: with_alert(expr='sum by (job) (rate(http_request_duration_seconds_bucket{le="1"}[2m])) > 1'),
     [("promql/unknown-label-value", ALERT, "(did you mean '1.0'?)")]),
    # --- metrics and kinds ------------------------------------------------------------------------
    ("unscraped-exporter",
     lambda: stack(scrape_jobs=tuple(j for j in stack().scrape_jobs if j.name != "redis"),
                   alerts=(alert(expr="redis_up == 0"),)),
     [("promql/unscraped-metric", ALERT, "exporter 'redis_exporter', which no scrape job yields")]),
    ("rate-on-gauge",
     lambda: with_alert(expr="sum by (job) (rate(app_queue_depth[2m])) > 1"),
     [("promql/rate-on-non-counter", ALERT, "rate() over 'app_queue_depth', which is a gauge")]),
    ("rate-on-recorded-series",
     lambda: with_alert(expr="rate(job:http_requests:rate5m[2m]) > 1", severity="P1"),
     [("promql/rate-on-non-counter", ALERT, "a recorded series")]),
    ("deriv-on-counter",
     lambda: with_alert(expr="sum by (job) (deriv(http_requests_total[2m])) > 1"),
     [("promql/gauge-function-on-counter", ALERT, "deriv() over the counter 'http_requests_total'")]),
    ("raw-counter-threshold",
     lambda: with_alert(expr="sum by (job) (http_requests_total) > 1000"),
     [("promql/raw-counter", ALERT, "'http_requests_total' is a counter")]),
    ("histogram-quantile-over-counter",
     lambda: with_alert(expr=f"histogram_quantile(0.9, sum by (job, le) ({RATE})) > 1"),
     [("promql/histogram-quantile", ALERT, "over 'http_requests_total', which is not a histogram's _bucket series"),
      ("promql/unknown-label", ALERT, "sum by (job, le): no label 'le'")]),
    ("histogram-quantile-le-dropped",
     lambda: with_alert(expr="histogram_quantile(0.9, sum by (job) (rate(http_request_duration_seconds_bucket[2m]))) > 1"),
     [("promql/histogram-quantile", ALERT, "aggregates it away")]),
    ("vector-match-different-labels",
     lambda: with_alert(expr=f"sum by (job, route) ({RATE}) / sum by (job) ({RATE}) > 0.5"),
     [("promql/vector-match", ALERT, "only the left side carries ['route']")]),
    ("rate-window-one-sample",
     lambda: with_alert(expr="sum by (job) (rate(http_requests_total[20s])) > 1"),
     [("promql/rate-window", ALERT, "holds at most one sample (scraped every 15s)")]),
    ("rate-window-under-four-scrapes",
     lambda: with_alert(expr="sum by (job) (rate(http_requests_total[45s])) > 1"),
     [("promql/rate-window", ALERT, "fewer than 4 scrapes (every 15s)")]),
    ("recorded-series-labels-inferred",
     lambda: with_alert(expr="sum by (job, route) (job:http_requests:rate5m) > 1", severity="P1"),
     [("promql/unknown-label", ALERT, "sum by (job, route): no label 'route'")]),
    ("promtool-only-syntax",
     lambda: with_query('sort_by_label(sum by (route) (rate(http_requests_total[$__rate_interval])), "route")'),
     [("promql/promtool-rejects", PANEL, "could not parse expression")]),
    # --- alert hygiene ------------------------------------------------------------------------------
    ("summary-two-sentences",
     lambda: with_alert(summary="Requests fail. Check the app."),
     [("alert/summary-sentence", ALERT, "is more than one sentence")]),
    ("description-without-template",
     lambda: with_alert(description="Requests fail."),
     [("alert/description-template", ALERT, "description names no series")]),
    ("template-label-aggregated-away",
     lambda: with_alert(description="{{ $labels.instance }} fails."),
     [("alert/template-label", ALERT, "$labels.instance is empty: the expression's series carry only ['job']")]),
    ("template-external-label",
     lambda: with_alert(description="{{ $labels.env }}: {{ $labels.job }} fails."),
     [("alert/template-label", ALERT, "read it as $externalLabels.env")]),
    ("template-rule-label",
     lambda: with_alert(description="{{ $labels.severity }}: {{ $labels.job }} fails."),
     [("alert/template-label", ALERT, "templates see the series' labels, not the rule's own labels")]),
    ("template-does-not-compile",
     lambda: with_alert(description="{{ $value | humanizePercent }} of {{ $labels.job }} fail."),
     [("alert/template-compile", ALERT, 'function "humanizePercent" not defined')]),
    ("no-threshold",
     lambda: with_alert(expr=f"sum by (job) ({RATE})"),
     [("alert/no-threshold", ALERT, "fires whenever any series exists")]),
    ("bool-comparison",
     lambda: with_alert(expr=f"sum by (job) ({RATE}) > bool 1"),
     [("alert/bool-comparison", ALERT, "always fires")]),
    ("for-below-evaluation",
     lambda: with_alert(for_="10s"),
     [("alert/for-below-evaluation", ALERT, "for 10s is shorter than the evaluation interval")]),
    ("no-dashboard-link",
     lambda: with_alert(dashboard=None),
     [("alert/no-dashboard", ALERT, "no dashboard")]),
    # --- latency budget -------------------------------------------------------------------------
    ("p0-over-budget",
     lambda: with_alert(for_="3m"),
     [("latency/over-budget", ALERT, "worst-case notification latency 5m40s (scrape 15s + evaluation 15s + window 2m + for 3m + group_wait 10s")]),
    ("window-through-recording-rule",
     lambda: with_alert(expr="sum by (job) (job:http_requests:rate5m) > 1", for_="0s", no_for_reason="fast"),
     [("latency/over-budget", ALERT, "scrape 15s + evaluation 30s + window 5m + group_wait 10s")]),
    # --- dashboard hygiene ---------------------------------------------------------------------------
    ("uid-from-title",
     lambda: stack(dashboards=(dashboard(uid=None),), alerts=(alert(dashboard=None, lint_ignore={"alert/no-dashboard": "test"}),)),
     [("dashboard/uid-not-pinned", "Dashboard 'app-overview'", "uid 'app-overview' is derived from the title")]),
    ("unknown-unit",
     lambda: stack(dashboards=(dashboard(panel(unit="seconds")),)),
     [("dashboard/unknown-unit", PANEL, "unit 'seconds' is not a Grafana unit id")]),
    ("fixed-rate-window-on-dashboard",
     lambda: with_query("sum by (route) (rate(http_requests_total[2m]))"),
     [("dashboard/rate-interval", PANEL, "uses [2m]; use [$__rate_interval]")]),
    ("legend-label-missing",
     lambda: with_query("sum by (route) (rate(http_requests_total[$__rate_interval]))", legend="{{ rout }}"),
     [("dashboard/legend-label", PANEL, "legend '{{ rout }}' shows {{rout}}, but the query's series carry only ['route'] (did you mean 'route'?)")]),
    ("undefined-dashboard-variable",
     lambda: with_query('sum by (route) (rate(http_requests_total{instance=~"$instance"}[$__rate_interval]))'),
     [("dashboard/undefined-variable", PANEL, "$instance is not a variable of the dashboard")]),
    ("dashboard-label-typo",
     lambda: with_query("sum by (rout) (rate(http_requests_total[$__rate_interval]))"),
     [("promql/unknown-label", PANEL, "no label 'rout' (did you mean 'route'?)")]),
    # --- silences ------------------------------------------------------------------------------------
    ("silence-without-reason",
     lambda: with_alert(dashboard=None, lint_ignore={"alert/no-dashboard": " "}),
     [("alert/no-dashboard", ALERT, "no dashboard"),
      ("lint/silence-without-reason", ALERT, "needs a written reason")]),
    ("silence-unknown-rule",
     lambda: with_alert(lint_ignore={"alert/no-dashbord": "typo"}),
     [("lint/unknown-rule", ALERT, "no lint rule 'alert/no-dashbord' (did you mean 'alert/no-dashboard'?)")]),
    ("silence-unused",
     lambda: with_alert(lint_ignore={"alert/no-threshold": "was needed once"}),
     [("lint/unused-silence", ALERT, "'alert/no-threshold' silences nothing")]),
]


def test_the_clean_stack_lints_clean():
    report = lint_stack(stack())
    assert report.findings == []
    assert [f.alert for f in report.latency] == ["HighErrorRate"]


def test_corpus_is_large_and_covers_most_rules():
    assert len(CASES) >= 30
    assert len({name for name, _, _ in CASES}) == len(CASES)
    from bad_definitions import CASES as BAD, WARNINGS

    covered = {rule for _, _, expected in CASES for rule, _, _ in expected}
    unknown = covered - set(LINT_RULES)
    assert not unknown
    covered |= {rule for *_, rules in BAD + WARNINGS for rule in rules}  # the validation pass's own table
    # Rules without a case here are covered by test_lint.py (compiled-JSON checks) or
    # cannot be reached through a valid Stack (the model rejects bad syntax first).
    assert set(LINT_RULES) - covered <= {
        "promql/syntax", "promql/unknown-metric", "dashboard/datasource-variable", "dashboard/panel-unit",
        "routing/notification-template",
    }


@pytest.mark.parametrize("name, build, expected", CASES, ids=[c[0] for c in CASES])
def test_corpus_case(name, build, expected):
    report = lint_stack(build())
    got = sorted((f.rule, f.where) for f in report.active)
    assert got == sorted((rule, where) for rule, where, _ in expected), [f"{f.rule}: {f.message}" for f in report.active]
    for rule, where, fragment in expected:
        messages = [f.message for f in report.active if (f.rule, f.where) == (rule, where)]
        assert any(fragment in m for m in messages), (fragment, messages)
