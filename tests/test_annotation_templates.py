"""The annotation expander agrees with Prometheus itself (checked through promtool test rules)."""

import pytest
import yaml

from sergas_observability import toolchain
from sergas_observability.promql.templates import TemplateError, expand

VALUES = [0.0, 0.12, 5.0, 1e6, 123456.0, 1234567.0, 1e-05, 0.0001, -2.5, 100.0, 1 / 7, 86400 * 3 + 61, 0.0315]
TEMPLATES = {
    "plain": "{{ $value }}",
    "humanize": "{{ $value | humanize }}",
    "percentage": "{{ $value | humanizePercentage }}",
    "duration": "{{ $value | humanizeDuration }}",
    "printf": '{{ printf "%.2f" $value }} on {{ $labels.instance }}',
}


def test_expander_matches_prometheus_for_many_values(tmp_path):
    rules, tests = [], []
    for i, value in enumerate(VALUES):
        name = f"Value{i}"
        rules.append({"alert": name, "expr": f'label_replace(vector({value!r}), "instance", "db:5432", "", "")', "annotations": TEMPLATES})
        expected = {key: expand(text, {"instance": "db:5432"}, value) for key, text in TEMPLATES.items()}
        tests.append({"eval_time": "1m", "alertname": name, "exp_alerts": [{"exp_labels": {"instance": "db:5432"}, "exp_annotations": expected}]})
    (tmp_path / "rules.yml").write_text(yaml.safe_dump({"groups": [{"name": "values", "rules": rules}]}))
    test_file = tmp_path / "values.test.yml"
    test_file.write_text(yaml.safe_dump({
        "rule_files": ["rules.yml"],
        "tests": [{"interval": "1m", "input_series": [], "alert_rule_test": tests}],
    }))
    assert toolchain.run_rule_tests(test_file) == []


def test_unsupported_template_is_reported():
    with pytest.raises(TemplateError, match="cannot be expanded"):
        expand("{{ $value | title }}", {}, 1.0)
