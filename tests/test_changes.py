"""`generate` says what changed in a reviewer's terms: files per output, rules, SLOs and panels by name."""

from __future__ import annotations

import json

import yaml
from test_generate_cli import _alert, _cli, _write_defs

from sergas_observability.changes import summary


def _rules(*rules: dict) -> str:
    return yaml.safe_dump({"groups": [{"name": "g", "rules": list(rules)}]})


def _dashboard(*titles: str) -> str:
    return json.dumps({"title": "Ops", "panels": [{"id": i, "type": "timeseries", "title": t} for i, t in enumerate(titles)]})


def test_a_summary_names_outputs_rules_slos_and_panels():
    old = {
        "prometheus/rules/alerts.yml": _rules({"alert": "Down", "expr": "up == 0"}, {"alert": "Gone", "expr": "x > 1"}),
        "prometheus/rules/slo-shop-orders.yml": "groups: []\n",
        "grafana/dashboards/ops.json": _dashboard("Errors", "Latency"),
        "alertmanager/prod/alertmanager.yml": "route: {}\n",
    }
    new = {
        "prometheus/rules/alerts.yml": _rules({"alert": "Down", "expr": "up == 0"}, {"alert": "Slow", "expr": "y > 1"},
                                              {"record": "job:x:rate5m", "expr": "rate(x[5m])"}),
        "prometheus/rules/slo-shop-orders.yml": "groups: [{name: a, rules: []}]\n",
        "grafana/dashboards/ops.json": _dashboard("Errors", "Saturation", "Latency"),  # ids shift: the panels did not change
        "alertmanager/prod/alertmanager.yml": "route: {}\n",
        "python/pyproject.toml": "[project]\n",
    }
    assert summary(old, new) == [
        "grafana: 1 changed",
        "prometheus: 2 changed",
        "python: 1 added",
        "alerts added: Slow",
        "alerts removed: Gone",
        "recording rules added: job:x:rate5m (g)",
        "SLOs changed: shop-orders",
        "panels added: Ops / Saturation",
    ]
    assert summary(new, new) == []


def test_generate_check_summarises_before_the_diff(tmp_path):
    _write_defs(tmp_path)
    out = tmp_path / "out"
    first = _cli("generate", "--definitions", "demo_defs", "--out", str(out), cwd=tmp_path)
    assert first.returncode == 0 and first.stdout == f"wrote {first.stdout.split()[1]} files to {out}/\n"  # nothing to compare with
    _write_defs(tmp_path, ALERTS="(" + _alert() + ",)")
    check = _cli("generate", "--check", "--definitions", "demo_defs", "--out", str(out), cwd=tmp_path)
    assert check.returncode == 1
    head = check.stdout.split("\n--- ", 1)[0]
    assert "changes: alerts added: DemoDown" in head and "changes: prometheus: " in head
    again = _cli("generate", "--definitions", "demo_defs", "--out", str(out), cwd=tmp_path)
    assert "  alerts added: DemoDown" in again.stdout
    times = {path: path.stat().st_mtime_ns for path in out.rglob("*")}
    unchanged = _cli("generate", "--definitions", "demo_defs", "--out", str(out), cwd=tmp_path)
    assert unchanged.stdout == f"{out}/ is up to date ({again.stdout.split()[1]} files): nothing written.\n"
    assert {path: path.stat().st_mtime_ns for path in out.rglob("*")} == times  # not even rewritten


def test_rules_of_one_name_are_told_apart_by_their_labels_and_long_lists_are_cut():
    def burn(window: str, expr: str) -> dict:
        return {"record": "slo:burn_rate:ratio", "expr": expr, "labels": {"service": "shop", "slo": "orders", "window": window}}

    old = {"prometheus/rules/slo-shop-orders.yml": _rules(burn("5m", "a"), burn("1h", "b"))}
    new = {"prometheus/rules/slo-shop-orders.yml": _rules(burn("5m", "a"), burn("1h", "c"), burn("6h", "d"))}
    assert summary(old, new)[1:] == [
        "recording rules added: slo:burn_rate:ratio{window=6h} (g)",
        "recording rules changed: slo:burn_rate:ratio{window=1h} (g)",
        "SLOs changed: shop-orders",
    ]
    many = {f"prometheus/rules/slo-shop-s{i:02d}.yml": "groups: []\n" for i in range(25)}
    (line,) = [line for line in summary({}, many) if line.startswith("SLOs")]
    assert line == "SLOs added: " + ", ".join(f"shop-s{i:02d}" for i in range(10)) + " and 15 more"


def test_a_generated_file_given_crlf_line_ends_is_drift_and_rewritten(tmp_path):
    """Files are compared as stored: a hand edit that changed only the line ends is still an edit."""
    _write_defs(tmp_path)
    out = tmp_path / "out"
    assert _cli("generate", "--definitions", "demo_defs", "--out", str(out), cwd=tmp_path).returncode == 0
    edited = next(path for path in sorted(out.rglob("*.yml")))
    original = edited.read_bytes()
    edited.write_bytes(original.replace(b"\n", b"\r\n"))
    check = _cli("generate", "--check", "--definitions", "demo_defs", "--out", str(out), cwd=tmp_path)
    assert check.returncode == 1 and edited.relative_to(out).as_posix() in check.stdout
    assert _cli("generate", "--definitions", "demo_defs", "--out", str(out), cwd=tmp_path).returncode == 0
    assert edited.read_bytes() == original
