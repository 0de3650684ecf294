"""The instrumentation runtime's own series are named after the stack and can be alerted on."""

from __future__ import annotations

from lint_stacks import alert, stack

from sergas_observability.lint import validate


def test_an_alert_on_the_runtime_series_validates():
    overflow = alert(
        name="LabelOverflow", dashboard=None, severity="P1",
        expr="sum by (metric, label) (rate(lint_test_instrumentation_label_overflow_total[5m])) > 0",
        description="{{ $labels.metric }} got values outside its declared {{ $labels.label }} values.",
    )
    report = validate(stack(alerts=(overflow,)))
    assert report.errors == [], [f.one_line() for f in report.errors]


def test_another_stacks_prefix_is_not_known():
    wrong = alert(name="LabelOverflow", dashboard=None, expr="sum(rate(sergas_instrumentation_label_overflow_total[5m])) > 0")
    lines = [f.one_line() for f in validate(stack(alerts=(wrong,))).errors]
    assert any("metric 'sergas_instrumentation_label_overflow_total' is not declared" in line
               and "did you mean 'lint_test_instrumentation_label_overflow_total'" in line for line in lines), lines


def test_the_metrics_port_comes_from_the_app_targets(stack):
    from lint_stacks import JOBS

    assert stack.metrics_port_in_targets == 9090  # Sergas's app targets all name :9090
    small = __import__("lint_stacks").stack
    assert small().metrics_port_in_targets == 9090  # app:9090
    two = JOBS[0].model_copy(update={"targets": {"development": ("a:9090", "b:8081")}})
    assert small(scrape_jobs=(two,) + JOBS[1:]).metrics_port_in_targets == 8000  # no single port: the convention
    assert small(metrics_port=9464).metrics_port_in_targets == 9464


def test_the_generated_module_serves_on_that_port(tree):
    text = (tree / "python/sergas_metrics/__init__.py").read_text()
    assert "METRICS_PORT = 9090" in text and "def start_metrics_server(port: int = METRICS_PORT" in text
