"""Grafana: one dashboard JSON per Dashboard definition, plus provisioning (grafana_provisioning.py).

Dashboards are built with grafanalib and then normalised for Grafana 11+:

1. grafanalib objects -> plain JSON data through their `to_json_data`, as
   grafanalib's own encoder does, keys sorted; every None is pruned on the
   way, key or list item (grafanalib writes `null` for every unset option);
2. each object keeps only the keys the Grafana 11 dashboard schema defines
   for it (grafanalib still emits fields of Grafana 5-7 such as `span`,
   `error`, `style` or a target's `intervalFactor`);
3. threshold steps are set last, because there `null` is meaningful: it is
   how Grafana serialises the base step's -Infinity.

The result is a pure function of the Stack: no clocks, no I/O, stable ids.
"""

from __future__ import annotations

import functools
import json
import pickle
import zlib
from typing import Any

import grafanalib.core as G

from ..model import Stack
from ..model.dashboards import Dashboard, Panel, Query, Threshold
from ..output import HEADER
from .grafana_provisioning import DASHBOARDS_PATH, DATASOURCE_UID, dashboard_provisioning, datasource_provisioning
from .rollout import rollout_dashboards
from .slo_dashboard import slo_dashboards

# Grafana 11.0 writes schemaVersion 39; it runs no migrations on these files.
SCHEMA_VERSION = 39

# Every panel and query reads the datasource chosen in the `datasource` variable.
DATASOURCE_REF = {"type": "prometheus", "uid": "${datasource}"}
GRID_COLUMNS = 24
ROW_HEIGHT = 1

# Keys of the Grafana 11 dashboard schema (@grafana/schema 11, dashboard_types.gen).
DASHBOARD_KEYS = frozenset({
    "annotations", "description", "editable", "fiscalYearStartMonth", "graphTooltip", "links", "liveNow",
    "panels", "refresh", "schemaVersion", "tags", "templating", "time", "timepicker", "timezone", "title",
    "uid", "version", "weekStart",
})
PANEL_KEYS = frozenset({
    "datasource", "description", "fieldConfig", "gridPos", "id", "interval", "links", "maxPerRow", "options",
    "repeat", "repeatDirection", "targets", "timeFrom", "timeShift", "title", "transformations", "transparent",
    "type",
})
ROW_KEYS = frozenset({"collapsed", "datasource", "gridPos", "id", "panels", "repeat", "title", "type"})
VARIABLE_KEYS = frozenset({
    "allValue", "current", "datasource", "description", "hide", "includeAll", "label", "multi", "name",
    "options", "query", "refresh", "regex", "skipUrlSync", "sort", "type",
})
# A Prometheus query as Grafana 11's query editor saves it.
TARGET_KEYS = frozenset({"datasource", "editorMode", "expr", "format", "instant", "legendFormat", "range", "refId"})
FIELD_DEFAULTS_KEYS = frozenset({
    "color", "custom", "decimals", "links", "mappings", "max", "min", "noValue", "thresholds", "unit",
})


def compile(stack: Stack) -> dict[str, Any]:
    documents: dict[str, Any] = {
        f"grafana/dashboards/{dashboard.file_name}": dashboard_json(dashboard) for dashboard in stack.dashboards + slo_dashboards(stack) + rollout_dashboards(stack)
    }
    documents["grafana/provisioning/datasources/prometheus.yml"] = datasource_provisioning(stack)
    documents[f"grafana/provisioning/dashboards/{stack.name}.yml"] = dashboard_provisioning(stack)
    return documents


# -- dashboards --------------------------------------------------------------------


def dashboard_json(dashboard: Dashboard) -> dict[str, Any]:
    built = G.Dashboard(
        title=dashboard.title,
        uid=dashboard.uid,
        description=f"{dashboard.description}\n\n{HEADER}".strip(),
        tags=list(dashboard.tags),
        panels=[],
        templating=G.Templating(list=[_datasource_variable()]),
        time=G.Time(dashboard.time_from, "now"),
        refresh=dashboard.refresh,
        schemaVersion=SCHEMA_VERSION,
        graphTooltip=G.GRAPH_TOOLTIP_MODE_SHARED_CROSSHAIR,
        timezone="browser",
        editable=False,
    )
    document = _plain(built)
    document = _keep(document, DASHBOARD_KEYS)
    document["timepicker"] = {}
    document["templating"]["list"] = [_variable(v) for v in document["templating"]["list"]]
    document["panels"] = _layout(dashboard)
    return _first(document, _DASHBOARD_FIRST, last=("panels",))


# Keys a reviewer reads first, in this order; the rest follow sorted (the writer keeps this order).
_DASHBOARD_FIRST = ("title", "uid", "description", "tags")
_PANEL_FIRST = ("id", "type", "title", "gridPos", "datasource", "targets")  # as Grafana lists them


def _first(document: dict[str, Any], keys: tuple[str, ...], last: tuple[str, ...] = ()) -> dict[str, Any]:
    """`document` with `keys` first and `last` last, the rest sorted (its values already are, see _plain)."""
    rest = sorted(k for k in document if k not in keys and k not in last)
    return {k: document[k] for k in (*keys, *rest, *last) if k in document}


def _datasource_variable() -> G.Template:
    return G.Template(
        name="datasource",
        label="Data source",
        type="datasource",
        query="prometheus",
        default=DATASOURCE_UID,
        hide=G.SHOW,
    )


def _variable(document: dict[str, Any]) -> dict[str, Any]:
    variable = _keep(document, VARIABLE_KEYS)
    if "current" in variable:  # grafanalib adds a `tags` list there, unknown to Grafana 11
        variable["current"] = _keep(variable["current"], frozenset({"selected", "text", "value"}))
    return variable


def panel_id(title: str, taken: set[int]) -> int:
    """A panel's id from its title, so it stays with the panel when others are
    inserted or moved (bookmarked `viewPanel` links keep working). Titles are
    unique within a dashboard; on the rare hash collision the next free id."""
    number = zlib.crc32(title.encode()) % 999_983 + 1
    while number in taken:
        number = number % 999_983 + 1
    taken.add(number)
    return number


def _layout(dashboard: Dashboard) -> list[dict[str, Any]]:
    """Rows and their panels as JSON, left to right and wrapping at 24 columns; ids follow the titles."""
    panels: list[dict[str, Any]] = []
    y = 0
    taken: set[int] = set()
    for row in dashboard.rows:
        panels.append(_filled(_row_template(), id=panel_id(f"row: {row.title}", taken), title=row.title,
                              gridPos={"h": ROW_HEIGHT, "w": GRID_COLUMNS, "x": 0, "y": y}))
        y += ROW_HEIGHT
        x, line_height = 0, 0
        for panel in row.panels:
            if x + panel.width > GRID_COLUMNS:
                x, y, line_height = 0, y + line_height, 0
            panels.append(panel_document(panel, panel_id(panel.title, taken), x, y))
            x += panel.width
            line_height = max(line_height, panel.height)
        y += line_height
    return panels


# -- panels ------------------------------------------------------------------------
#
# A panel's JSON is the same for every panel of its shape (kind, unit, limits,
# thresholds, size, which queries are instant) but for its title, description,
# id, place and queries' text. Each shape goes through grafanalib and the
# normalisation once; its panels are copies with their own values set (the SLO
# dashboards hold thousands of panels of a handful of shapes).


def panel_document(panel: Panel, panel_id: int, x: int, y: int) -> dict[str, Any]:
    """The Grafana 11 JSON of `panel` with this id at (x, y), as `_built_panel` writes it."""
    values: dict[str, Any] = {"id": panel_id, "title": panel.title, "gridPos": {"h": panel.height, "w": panel.width, "x": x, "y": y}}
    if panel.description:
        values["description"] = panel.description
    document = _filled(_panel_template(_shape(panel)), **values)
    for target, query in zip(document["targets"], panel.queries):
        target["expr"], target["legendFormat"] = query.expr, query.legend
    return document


def _filled(template: bytes, **values: Any) -> dict[str, Any]:
    """A fresh copy of a pickled template (no two documents share a mutable part), `values` set in place."""
    document: dict[str, Any] = pickle.loads(template)
    assert values.keys() <= document.keys(), sorted(values.keys() - document.keys())  # the template's key order holds
    document.update(values)
    return document


Shape = tuple[Any, ...]


def _shape(panel: Panel) -> Shape:
    """What a panel's JSON depends on besides its title, description text, id, place and queries' text."""
    return (
        panel.kind, panel.unit, panel.min, panel.max, tuple(panel.value_text.items()),
        tuple((t.value, t.color) for t in panel.thresholds), panel.width, panel.height, bool(panel.description),
        tuple(query.instant for query in panel.queries),
    )


@functools.lru_cache(maxsize=1024)
def _panel_template(shape: Shape) -> bytes:
    kind, unit, low, high, value_text, thresholds, width, height, described, instants = shape
    panel = Panel(
        title="-", kind=kind, unit=unit, min=low, max=high, value_text=dict(value_text),
        thresholds=tuple(Threshold(value=v, color=c) for v, c in thresholds), width=width, height=height,
        description="-" if described else "", queries=tuple(Query(expr="x", legend="-", instant=i) for i in instants),
    )
    return pickle.dumps(_built_panel(panel, 1, 0, 0))


@functools.cache
def _row_template() -> bytes:
    row = G.RowPanel(title="-", id=1, gridPos=G.GridPos(h=ROW_HEIGHT, w=GRID_COLUMNS, x=0, y=0))
    return pickle.dumps(_first(_keep(_plain(row), ROW_KEYS), _PANEL_FIRST))


def _built_panel(panel: Panel, panel_id: int, x: int, y: int) -> dict[str, Any]:
    """The panel through grafanalib and the normalisation: what every panel of its shape copies."""
    built = _panel(panel, panel_id, G.GridPos(h=panel.height, w=panel.width, x=x, y=y))
    return _first(_normalise_panel(_plain(built), panel), _PANEL_FIRST)


def _targets(panel: Panel) -> list[G.Target]:
    table = panel.kind == "table"
    return [
        G.Target(
            expr=query.expr,
            legendFormat=query.legend,
            refId=_ref_id(index),
            instant=query.instant or table,
            format=G.TABLE_TARGET_FORMAT if table else G.TIME_SERIES_TARGET_FORMAT,
            datasource=DATASOURCE_REF,
        )
        for index, query in enumerate(panel.queries)
    ]


def _ref_id(index: int) -> str:
    """A, B, ... Z, AA, AB, ... as Grafana names queries."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _panel(panel: Panel, panel_id: int, grid: G.GridPos) -> Any:
    common: dict[str, Any] = {
        "title": panel.title,
        "description": panel.description or None,
        "dataSource": DATASOURCE_REF,
        "targets": _targets(panel),
        "id": panel_id,
        "gridPos": grid,
        "maxDataPoints": None,  # grafanalib's 100 would cap the resolution; Grafana picks one per panel width
    }
    # min/max go in by extraJson: grafanalib's own fields for them accept ints only.
    defaults: dict[str, Any] = {"min": panel.min, "max": panel.max, "mappings": _mappings(panel)}
    if panel.kind == "timeseries":
        style = "dashed" if len(panel.thresholds) > 1 else "off"
        return G.TimeSeries(
            unit=panel.unit,
            fillOpacity=10,
            tooltipMode="multi",
            tooltipSort="desc",
            legendDisplayMode="list",
            thresholdsStyleMode=style,
            stacking={"mode": "none", "group": "A"},
            # Options Grafana 11 requires that grafanalib 0.7.1 does not know yet.
            extraJson={"fieldConfig": {"defaults": defaults}, "options": {"legend": {"showLegend": True}}},
            **common,
        )
    single_value = {"calcs": ["lastNotNull"], "fields": "", "values": False}
    if panel.kind == "stat":
        return G.Stat(
            format=panel.unit,
            reduceCalc="lastNotNull",
            graphMode="area",
            colorMode="value",
            extraJson={
                "fieldConfig": {"defaults": {**defaults, "color": {"mode": "thresholds"}}},
                "options": {"showPercentChange": False, "percentChangeColorMode": "standard", "wideLayout": True},
            },
            **common,
        )
    if panel.kind == "gauge":
        return G.GaugePanel(
            format=panel.unit,
            thresholds=[],
            min=None,
            max=None,
            # grafanalib 0.7.1 puts the gauge options in fieldConfig, where Grafana 8+
            # ignores them: move them to `options` (None entries are pruned, i.e. removed).
            extraJson={
                "fieldConfig": {
                    "defaults": {**defaults, "color": {"mode": "thresholds"}},
                    "showThresholdLabels": None,
                    "showThresholdMarkers": None,
                },
                "options": {
                    "reduceOptions": single_value,
                    "showThresholdLabels": False,
                    "showThresholdMarkers": True,
                    "orientation": "auto",
                    "sizing": "auto",
                    "minVizHeight": 75,
                    "minVizWidth": 75,
                },
            },
            **common,
        )
    return G.Table(
        unit=panel.unit,
        # An instant table query has one row per series; the timestamp column says nothing.
        transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True}}}],
        # grafanalib's `displayMode` became `cellOptions` in Grafana 10.
        extraJson={
            "fieldConfig": {
                "defaults": {**defaults, "custom": {"displayMode": None, "cellOptions": {"type": "auto"}, "inspect": False}}
            },
            "options": {"cellHeight": "sm", "frameIndex": 0},
        },
        **common,
    )


def _mappings(panel: Panel) -> list[dict[str, Any]]:
    if not panel.value_text:
        return []
    options = {
        value: {"text": text, "index": index} for index, (value, text) in enumerate(panel.value_text.items())
    }
    return [{"type": "value", "options": options}]


# -- normalisation -------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """grafanalib objects as the JSON data grafanalib's encoder writes, every object's
    keys sorted (as JSON names them) and every None dropped, key or list item."""
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    if kind is dict:
        if not all(type(key) is str for key in value):  # as JSON names them: 1 -> "1", True -> "true"
            value = {key if isinstance(key, str) else json.dumps(key): item for key, item in value.items()}
        out = {}
        for key in sorted(value):
            item = _plain(value[key])
            if item is not None:
                out[key] = item
        return out
    if kind is list or kind is tuple:
        return [item for item in map(_plain, value) if item is not None]
    to_json_data = getattr(value, "to_json_data", None)
    return value if to_json_data is None else _plain(to_json_data())


def _keep(document: dict[str, Any], keys: frozenset[str]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key in keys}


def _normalise_panel(document: dict[str, Any], definition: Panel) -> dict[str, Any]:
    document = _keep(document, PANEL_KEYS)
    document["targets"] = [
        _shallow_sorted({**_keep(target, TARGET_KEYS), "editorMode": "code", "range": not target.get("instant", False)})
        for target in document["targets"]
    ]
    field_config = document["fieldConfig"]
    field_config["defaults"] = _keep(field_config["defaults"], FIELD_DEFAULTS_KEYS)
    field_config.setdefault("overrides", [])
    # Set after pruning: the base step's `null` stands for -Infinity.
    field_config["defaults"]["thresholds"] = _thresholds(definition)
    field_config["defaults"] = _shallow_sorted(field_config["defaults"])
    document["fieldConfig"] = _shallow_sorted(field_config)
    return document


def _shallow_sorted(document: dict[str, Any]) -> dict[str, Any]:
    """`document` with its keys sorted, where only its own keys may be out of order (_plain sorted the rest)."""
    return dict(sorted(document.items()))


def _thresholds(panel: Panel) -> dict[str, Any]:
    steps = [{"color": t.color, "value": t.value} for t in panel.thresholds] or [{"color": "green", "value": None}]
    return {"mode": "absolute", "steps": steps}


__all__ = ["compile", "dashboard_json", "DASHBOARDS_PATH", "DATASOURCE_UID", "SCHEMA_VERSION"]
