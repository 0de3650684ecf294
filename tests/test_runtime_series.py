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
