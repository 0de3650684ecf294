"""Dashboard hygiene: on the definitions, and on what the Grafana compiler makes of them.

The definition-level checks (pinned uid, known unit, legend labels) need
only the model; the datasource variable, a unit on every compiled panel and
dashboard variables are properties of the JSON Grafana will load, so they
are checked on the compiler's output (a pure function, cheap to call).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from ..model import Dashboard, Panel, Stack
from ..model.base import did_you_mean
from ..promql.grafana import variables
from .findings import Finding, finding
from .grafana_units import UNITS, known_unit
from .promql_refs import Out

_LEGEND_LABEL = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
DATASOURCE_VARIABLE = "datasource"
DATASOURCE_REF = "${datasource}"


def check_definition(dashboard: Dashboard, outputs: dict[int, list[Out]], emit: Callable[[Finding], None]) -> None:
    """`outputs` maps id(panel) to the analysis of each of its queries, in order."""
    if "uid" not in dashboard.model_fields_set:
        emit(finding("dashboard/uid-not-pinned", dashboard, "uid",
                     f"uid '{dashboard.uid}' is derived from the title; set uid= so renaming keeps links and bookmarks"))
    for panel in dashboard.panels:
        owners = (dashboard,)
        if not known_unit(panel.unit):
            emit(finding("dashboard/unknown-unit", panel, "unit",
                         f"unit '{panel.unit}' is not a Grafana unit id{did_you_mean(panel.unit, UNITS)}", owners=owners))
        for query, out in zip(panel.queries, outputs.get(id(panel), [])):
            if out.labels is None:
                continue
            for label in _LEGEND_LABEL.findall(query.legend):
                if label not in out.labels:
                    emit(finding("dashboard/legend-label", panel, "queries",
                                 f"legend '{query.legend}' shows {{{{{label}}}}}, but the query's series carry only "
                                 f"{sorted(out.labels) or 'no labels'}{did_you_mean(label, out.labels)}",
                                 query.expr, owners=owners))


def compiled_dashboards(documents: dict[str, Any]) -> list[dict[str, Any]]:
    return [doc for doc in documents.values() if isinstance(doc, dict) and "panels" in doc and "uid" in doc]


def generated_queries(stack: Stack, documents: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(dashboard uid, query) of the dashboards a compiler generates without a Dashboard
    definition (the SLO dashboards): linted like any query, findings on the Stack."""
    declared = {d.uid for d in stack.dashboards}
    for doc in compiled_dashboards(documents):
        if doc["uid"] not in declared:
            for item in _panels(doc):
                for target in item.get("targets", []):
                    if target.get("expr"):
                        yield doc["uid"], target["expr"]


def check_compiled(stack: Stack, documents: dict[str, Any], emit: Callable[[Finding], None]) -> None:
    """Checks on the compiled dashboard JSON, matched to the definitions by uid and panel title.

    Generated dashboards without a definition report on the Stack."""
    declared = {d.uid: d for d in stack.dashboards}
    for doc in compiled_dashboards(documents):
        dashboard: Dashboard | Stack = declared.get(doc["uid"], stack)
        panels = {panel.title: panel for panel in dashboard.panels} if isinstance(dashboard, Dashboard) else {}
        names = [v.get("name") for v in doc.get("templating", {}).get("list", [])]
        has_datasource = any(
            v.get("type") == "datasource" and v.get("name") == DATASOURCE_VARIABLE
            for v in doc.get("templating", {}).get("list", [])
        )
        if not has_datasource:
            emit(finding("dashboard/datasource-variable", dashboard, None,
                         f"the compiled dashboard '{doc['uid']}' has no variable '{DATASOURCE_VARIABLE}' of type datasource"))
        for item in _panels(doc):
            definition: Dashboard | Panel | Stack = panels.get(str(item.get("title")), dashboard)
            owners = (dashboard,) if definition is not dashboard else ()
            unit = item.get("fieldConfig", {}).get("defaults", {}).get("unit")
            if not unit:
                emit(finding("dashboard/panel-unit", definition, "unit",
                             f"compiled panel '{item.get('title')}' has no unit", owners=owners))
            refs = [item.get("datasource")] + [t.get("datasource") for t in item.get("targets", []) if "datasource" in t]
            for ref in refs:
                uid = ref.get("uid") if isinstance(ref, dict) else ref
                if uid != DATASOURCE_REF:
                    emit(finding("dashboard/datasource-variable", definition, None,
                                 f"compiled panel '{item.get('title')}' queries datasource {uid!r}, not {DATASOURCE_REF}",
                                 owners=owners))
                    break
            for target in item.get("targets", []):
                for name in sorted(variables(target.get("expr", "")) - set(names)):
                    emit(finding("dashboard/undefined-variable", definition, "queries",
                                 f"${name} is not a variable of the dashboard{did_you_mean(name, [n for n in names if n])}",
                                 target.get("expr"), owners=owners))


def _panels(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every non-row panel, including those inside collapsed rows."""
    for item in doc.get("panels", []):
        if item.get("type") == "row":
            yield from item.get("panels", [])
        else:
            yield item
