"""Grafana dashboards and provisioning, as written to generated/grafana/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from sergas_observability.lint import ensure_valid
from sergas_observability.compile import grafana
from sergas_observability.model import Dashboard, DefinitionError, Panel, Query, Row
from sergas_observability.output import HEADER, render_all

STACK_NAME = "sergas"  # the provider file is named after the stack
from sergas_observability.promql import selectors, substitute_grafana_variables

# Seed section 4.2: file name -> panel titles, exactly.
SEED_DASHBOARDS = {
    "system_overview.json": [
        "Service health", "Error rate trends", "Request latency (p50, p95, p99)", "Throughput (requests/sec)",
    ],
    "agent_execution.json": [
        "Agent invocation count", "Agent execution duration", "Agent error rate", "Subagent coordination metrics",
    ],
    "database_performance.json": [
        "Connection pool utilization", "Query duration", "Lock wait time", "Transaction rate",
    ],
    "zoho_integration.json": [
        "API request count by tier (MCP, SDK, REST)", "Circuit breaker states", "Failover events", "Rate limit hits",
    ],
    "approval_workflow.json": [
        "Approval queue depth", "Approval timeout rate", "Approval duration (p95)", "Pending approvals by owner",
    ],
}
CURRENT_PANEL_TYPES = {"row", "timeseries", "stat", "gauge", "table"}
DATASOURCE_REF = {"type": "prometheus", "uid": "${datasource}"}
# Labels a scrape adds to every series, besides those a metric declares.
TARGET_LABELS = {"job", "instance"}


@pytest.fixture(scope="module")
def dashboards(tree: Path) -> dict[str, dict[str, Any]]:
    folder = tree / "grafana" / "dashboards"
    return {path.name: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Visual panels (rows excluded)."""
    return [p for p in dashboard["panels"] if p["type"] != "row"]


def all_values(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from all_values(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from all_values(value, f"{path}[{index}]")


def test_the_seed_dashboards_exist_with_their_panels(dashboards):
    # plus one generated SLO dashboard per service (slo_*.json, tests/test_slo_rules.py) and one
    # per rollout (rollout_*.json, tests/test_rollout.py)
    assert sorted(d for d in dashboards if not d.startswith(("slo_", "rollout_"))) == sorted(SEED_DASHBOARDS)
    for name, titles in SEED_DASHBOARDS.items():  # the seed's panels first, in its order; ours after them
        assert [p["title"] for p in panels(dashboards[name])][: len(titles)] == titles, name


def test_uids_are_stable_and_unique(dashboards):
    uids = {name: d["uid"] for name, d in dashboards.items()}
    assert uids["system_overview.json"] == "sergas-system-overview"
    assert len(set(uids.values())) == len(uids)
    assert all(uid == "sergas-" + name.removesuffix(".json").replace("_", "-") for name, uid in uids.items())


def test_current_schema_and_notice(dashboards):
    for name, dashboard in dashboards.items():
        assert dashboard["schemaVersion"] >= 39, name
        assert HEADER in dashboard["description"], name
        assert "id" not in dashboard, f"{name}: a provisioned dashboard must not carry a database id"
        assert "rows" not in dashboard and "style" not in dashboard, f"{name}: pre-Grafana-7 fields"


def test_panel_ids_unique(dashboards):
    for name, dashboard in dashboards.items():
        ids = [p["id"] for p in dashboard["panels"]]
        assert len(ids) == len(set(ids)), name
        assert all(isinstance(i, int) and i > 0 for i in ids), name


def test_grid_within_24_columns_and_no_overlap(dashboards):
    for name, dashboard in dashboards.items():
        cells: dict[tuple[int, int], str] = {}
        for panel in dashboard["panels"]:
            pos = panel["gridPos"]
            assert pos["x"] >= 0 and pos["w"] >= 1 and pos["x"] + pos["w"] <= 24, (name, panel["title"])
            assert pos["h"] >= 1 and pos["y"] >= 0, (name, panel["title"])
            for x in range(pos["x"], pos["x"] + pos["w"]):
                for y in range(pos["y"], pos["y"] + pos["h"]):
                    assert (x, y) not in cells, f"{name}: '{panel['title']}' overlaps '{cells[(x, y)]}'"
                    cells[(x, y)] = panel["title"]


def test_rows_are_row_panels_above_their_panels(dashboards):
    for name, dashboard in dashboards.items():
        row_bottom = -1
        for panel in dashboard["panels"]:
            if panel["type"] == "row":
                assert panel["gridPos"]["w"] == 24 and panel["collapsed"] is False, name
                row_bottom = panel["gridPos"]["y"] + panel["gridPos"]["h"]
            else:
                assert row_bottom >= 0, f"{name}: '{panel['title']}' comes before any row"
                assert panel["gridPos"]["y"] >= row_bottom, f"{name}: '{panel['title']}' sits above its row"


def test_only_current_panel_types(dashboards):
    for name, dashboard in dashboards.items():
        types = {p["type"] for p in dashboard["panels"]}
        assert types <= CURRENT_PANEL_TYPES, f"{name}: {types - CURRENT_PANEL_TYPES}"


def test_datasource_variable_and_references(dashboards):
    for name, dashboard in dashboards.items():
        variables = {v["name"]: v for v in dashboard["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource", name
        assert variables["datasource"]["query"] == "prometheus", name
        assert variables["datasource"]["current"]["value"] == grafana.DATASOURCE_UID, name
        for panel in panels(dashboard):
            assert panel["datasource"] == DATASOURCE_REF, (name, panel["title"])
            assert panel["targets"], (name, panel["title"])
            for target in panel["targets"]:
                assert target["datasource"] == DATASOURCE_REF, (name, panel["title"])


def test_every_panel_has_a_unit_and_thresholds_steps(dashboards):
    for name, dashboard in dashboards.items():
        for panel in panels(dashboard):
            defaults = panel["fieldConfig"]["defaults"]
            assert defaults["unit"], (name, panel["title"])
            steps = defaults["thresholds"]["steps"]
            assert steps[0]["value"] is None, (name, panel["title"])  # Grafana's -Infinity base step
            values = [s["value"] for s in steps[1:]]
            assert values == sorted(values) and None not in values, (name, panel["title"])


def test_alert_thresholds_shown_where_the_seed_sets_them(dashboards):
    def steps(file: str, title: str) -> list[float]:
        panel = next(p for p in panels(dashboards[file]) if p["title"] == title)
        return [s["value"] for s in panel["fieldConfig"]["defaults"]["thresholds"]["steps"][1:]]

    assert 0.05 in steps("system_overview.json", "Error rate trends")
    assert 0.8 in steps("database_performance.json", "Connection pool utilization")
    assert 0.05 in steps("approval_workflow.json", "Approval timeout rate")


def test_rates_use_rate_interval(dashboards):
    for name, dashboard in dashboards.items():
        for panel in panels(dashboard):
            for target in panel["targets"]:
                for selector in selectors(substitute_grafana_variables(target["expr"])):
                    if selector.range is not None:
                        assert "$__rate_interval" in target["expr"] or "$__range" in target["expr"], target["expr"]
                assert target["legendFormat"], (name, panel["title"], target["expr"])


def test_every_query_reads_declared_metrics_and_labels(dashboards, stack):
    known = stack.series_labels()
    checked = 0
    for name, dashboard in dashboards.items():
        for panel in panels(dashboard):
            for target in panel["targets"]:
                for selector in selectors(substitute_grafana_variables(target["expr"])):
                    where = f"{name} '{panel['title']}': {target['expr']}"
                    assert selector.metric in known, f"{where}: undeclared metric {selector.metric}"
                    unknown = set(selector.label_names) - set(known[selector.metric]) - TARGET_LABELS
                    assert not unknown, f"{where}: undeclared labels {unknown}"
                    checked += 1
    assert checked >= 20


def test_no_null_noise(dashboards):
    for name, dashboard in dashboards.items():
        for path, value in all_values(dashboard):
            if value is None:
                # The one meaningful null: a thresholds base step (Grafana's -Infinity).
                assert path.endswith(".thresholds.steps[0].value"), f"{name}: null at {path}"


def test_no_legacy_keys(dashboards):
    legacy_panel = {"span", "error", "height", "minSpan", "editable", "styles", "columns", "thresholdType"}
    legacy_target = {"intervalFactor", "step", "metric", "target", "query"}
    for name, dashboard in dashboards.items():
        for panel in dashboard["panels"]:
            assert not legacy_panel & set(panel), (name, panel["title"], legacy_panel & set(panel))
            for target in panel.get("targets", []):
                assert not legacy_target & set(target), (name, panel["title"])


def test_table_queries_are_instant_tables(dashboards):
    table = next(p for p in panels(dashboards["approval_workflow.json"]) if p["type"] == "table")
    assert table["title"] == "Pending approvals by owner"
    assert all(t["instant"] and t["format"] == "table" and not t["range"] for t in table["targets"])


def test_value_text_becomes_a_value_mapping(dashboards):
    breaker = next(p for p in panels(dashboards["zoho_integration.json"]) if p["title"] == "Circuit breaker states")
    (mapping,) = breaker["fieldConfig"]["defaults"]["mappings"]
    assert mapping["type"] == "value"
    assert {k: v["text"] for k, v in mapping["options"].items()} == {"0": "closed", "1": "half-open", "2": "open"}


def test_deterministic(stack):
    first = render_all(grafana.compile(stack))
    second = render_all(grafana.compile(stack))
    assert first == second
    assert any(path.endswith(".json") for path in first)


def test_provisioning(tree: Path, dashboards):
    datasources = yaml.safe_load((tree / "grafana/provisioning/datasources/prometheus.yml").read_text())
    source = datasources["datasources"][0]  # the second, if any, is the central view (test_central.py)
    assert datasources["apiVersion"] == 1
    assert source["type"] == "prometheus" and source["uid"] == grafana.DATASOURCE_UID
    assert source["url"] == "http://prometheus:9090"
    assert source["jsonData"]["timeInterval"] == "15s"

    providers = yaml.safe_load((tree / f"grafana/provisioning/dashboards/{STACK_NAME}.yml").read_text())
    (provider,) = providers["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == grafana.DASHBOARDS_PATH == "/var/lib/grafana/dashboards"
    for path in ("grafana/provisioning/datasources/prometheus.yml", f"grafana/provisioning/dashboards/{STACK_NAME}.yml"):
        assert (tree / path).read_text().startswith(f"# {HEADER}")


# -- layout and model ----------------------------------------------------------------


def _panel(title: str, width: int, height: int = 8) -> Panel:
    return Panel(title=title, queries="up", unit="short", width=width, height=height)


def test_layout_wraps_at_24_columns():
    dashboard = Dashboard(
        title="Layout",
        rows=(
            Row(title="one", panels=(_panel("a", 16), _panel("b", 16, height=4), _panel("c", 8))),
            Row(title="two", panels=(_panel("d", 24),)),
        ),
    )
    positions = {p["title"]: p["gridPos"] for p in grafana.dashboard_json(dashboard)["panels"]}
    assert positions["one"] == {"h": 1, "w": 24, "x": 0, "y": 0}
    assert positions["a"] == {"h": 8, "w": 16, "x": 0, "y": 1}
    assert positions["b"] == {"h": 4, "w": 16, "x": 0, "y": 9}  # wrapped below a
    assert positions["c"] == {"h": 8, "w": 8, "x": 16, "y": 9}
    assert positions["two"] == {"h": 1, "w": 24, "x": 0, "y": 17}  # below the taller of b and c
    assert positions["d"]["y"] == 18


def test_file_name_defaults_to_uid_and_can_be_set():
    rows = (Row(title="r", panels=(_panel("a", 12),)),)
    assert Dashboard(title="My Board", rows=rows).file_name == "my_board.json"
    assert Dashboard(title="My Board", uid="x-my-board", file="my_board.json", rows=rows).file_name == "my_board.json"
    with pytest.raises(DefinitionError, match="file"):
        Dashboard(title="My Board", file="My Board.json", rows=rows)


def test_duplicate_file_names_are_rejected(stack):
    clash = Dashboard(title="Other", uid="other", file="system_overview.json", rows=stack.dashboards[0].rows)
    with pytest.raises(DefinitionError, match="file"):
        ensure_valid(type(stack)(**{**dict(stack), "dashboards": stack.dashboards + (clash,)}))


def test_undeclared_metric_in_a_panel_is_rejected(stack):
    bad = Dashboard(
        title="Bad",
        rows=(Row(title="r", panels=(Panel(title="p", queries="rate(sergas_nope_total[$__rate_interval])", unit="short"),)),),
    )
    with pytest.raises(DefinitionError, match="sergas_nope_total"):
        ensure_valid(type(stack)(**{**dict(stack), "dashboards": stack.dashboards + (bad,)}))


def test_panel_ids_stay_with_their_panels_and_keys_read_in_review_order(stack):
    """Inserting a panel changes no other panel's id (bookmarked viewPanel links hold)."""
    board = stack.dashboards[0]
    before = {p["title"]: p["id"] for p in grafana.dashboard_json(board)["panels"]}
    extra = Panel(title="Inserted first", queries=('up{job="sergas-app"}',), unit="none")
    rows = (board.rows[0].model_copy(update={"panels": (extra,) + board.rows[0].panels}),) + board.rows[1:]
    after_doc = grafana.dashboard_json(board.model_copy(update={"rows": rows}))
    after = {p["title"]: p["id"] for p in after_doc["panels"]}
    assert {t: after[t] for t in before} == before
    assert len(set(after.values())) == len(after)  # still unique
    first = next(p for p in after_doc["panels"] if p["type"] != "row")
    assert list(first)[:6] == ["id", "type", "title", "gridPos", "datasource", "targets"]
    assert list(after_doc)[:4] == ["title", "uid", "description", "tags"] and list(after_doc)[-1] == "panels"


def test_panel_ids_resolve_collisions_deterministically():
    taken: set[int] = set()
    first = grafana.panel_id("Errors", taken)
    assert grafana.panel_id("Errors", taken) != first  # a second claim of one hash gets the next free id
    assert grafana.panel_id("Errors", set()) == first


def _every_panel(stack) -> Iterator[Panel]:
    from sergas_observability.compile.rollout import rollout_dashboards
    from sergas_observability.compile.slo_dashboard import slo_dashboards

    for board in stack.dashboards + slo_dashboards(stack) + rollout_dashboards(stack):
        yield from board.panels


def test_a_panel_copied_from_its_shape_is_the_panel_built_through_grafanalib(stack):
    """Panels of one shape share a template: each copy equals its own grafanalib build, and no two share state."""
    odd = [
        Panel(title="gauge", kind="gauge", queries=("up", "up"), unit="percent", min=0, max=100, value_text={"0": "down", "1": "up"}),
        Panel(title="table", kind="table", queries=(Query(expr="up", legend="{{job}}"),), unit="none", description="who is up"),
        Panel(title="instant stat", kind="stat", queries=(Query(expr="up", instant=True), "up"), unit="s", width=3, height=2,
              thresholds=((None, "green"), (0.5, "red"))),
    ]
    panels = [*_every_panel(stack), *odd]
    assert {p.kind for p in panels} == {"timeseries", "stat", "gauge", "table"}
    copies = []
    for index, panel in enumerate(panels):
        copy = grafana.panel_document(panel, index + 7, index % 24, 3 * index)
        assert copy == grafana._built_panel(panel, index + 7, index % 24, 3 * index), panel.title
        assert list(copy) == list(grafana._built_panel(panel, index + 7, index % 24, 3 * index))  # same key order
        copies.append(copy)
    copies[0]["fieldConfig"]["defaults"]["unit"] = "changed"
    copies[0]["targets"][0]["expr"] = "changed"
    assert grafana.panel_document(panels[0], 1, 0, 0) == grafana._built_panel(panels[0], 1, 0, 0)


def test_an_slo_dashboards_panels_name_the_slo_where_it_was_written(stack):
    """Its panels are derived from the validated SLO: a finding on one points at the SLO's file:line, not the library's."""
    from sergas_observability.compile.slo_dashboard import by_service, slo_dashboards

    origins = {slo.key: slo.origin for slo in stack.slos}
    assert all(o and o.startswith("definitions/") for o in origins.values()), origins
    boards = slo_dashboards(stack)
    assert len(boards) == len(by_service(stack.slos)) > 1
    for board, slos in zip(boards, by_service(stack.slos).values()):
        assert len(board.rows) == len(slos)
        for row, slo in zip(board.rows, slos):
            assert {p.origin for p in row.panels} | {q.origin for p in row.panels for q in p.queries} == {slo.origin}
