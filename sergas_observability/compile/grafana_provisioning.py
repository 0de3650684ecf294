"""Grafana's provisioning files, and the uids and paths they fix.

Apart from the dashboards (compile/grafana.py), which grafanalib builds: what
refers to these (compose's mounts, the dashboards' datasource variable) need
not import it, and the processes that build no dashboard never do.
"""

from __future__ import annotations

from typing import Any

from ..model import Stack
from ..model.base import duration_seconds

DATASOURCE_UID = "prometheus"
CENTRAL_DATASOURCE_UID = "central"
# Where the Grafana container mounts generated/grafana/dashboards.
DASHBOARDS_PATH = "/var/lib/grafana/dashboards"


def datasource_provisioning(stack: Stack) -> dict[str, Any]:
    # $__rate_interval is four scrape intervals at least; Grafana learns the
    # scrape interval from timeInterval, so give it our shortest one.
    scrape = min((env.scrape_interval for env in stack.environments), key=duration_seconds)
    datasources = [
        {
            "name": "Prometheus",
            "type": "prometheus",
            "uid": DATASOURCE_UID,
            "access": "proxy",
            "url": stack.grafana_datasource_url,
            "isDefault": True,
            "editable": False,
            "jsonData": {"timeInterval": scrape, "httpMethod": "POST"},
        }
    ]
    if stack.central is not None:
        # The view across environments: the same dashboards, picked in the
        # `datasource` variable; series there carry `env` and `cluster`.
        central: dict[str, Any] = {
            "name": "Central (all environments)",
            "type": "prometheus",
            "uid": CENTRAL_DATASOURCE_UID,
            "access": "proxy",
            "url": stack.central.query_url,
            "isDefault": False,
            "editable": False,
            "jsonData": {"timeInterval": scrape, "httpMethod": "POST"},
        }
        if stack.central.tenant:
            central["jsonData"].update(httpHeaderName1="X-Scope-OrgID")
            central["secureJsonData"] = {"httpHeaderValue1": stack.central.tenant}
        datasources.append(central)
    return {"apiVersion": 1, "datasources": datasources}


def dashboard_provisioning(stack: Stack) -> dict[str, Any]:
    """One file provider named after the stack, filing every dashboard in the stack's folder."""
    return {
        "apiVersion": 1,
        "providers": [
            {
                "name": stack.name,
                "orgId": 1,
                "folder": stack.grafana_folder,
                "type": "file",
                # The files are generated: changes made in the UI would be lost anyway.
                "disableDeletion": True,
                "allowUiUpdates": False,
                "updateIntervalSeconds": 30,
                "options": {"path": DASHBOARDS_PATH, "foldersFromFilesStructure": False},
            }
        ],
    }
