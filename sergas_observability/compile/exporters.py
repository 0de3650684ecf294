"""Files the exporters read that the definitions decide: postgres_exporter's custom queries.

`exporters/postgres_exporter/queries.yml` holds every declared PostgresQuery
in the format of postgres_exporter's `--extend.query-path`; the compose
stack mounts it and Kubernetes gets it as a ConfigMap.
"""

from __future__ import annotations

from typing import Any

from ..model import Stack

POSTGRES_QUERIES = "exporters/postgres_exporter/queries.yml"


def compile(stack: Stack) -> dict[str, Any]:
    if not stack.exporter_queries:
        return {}
    return {POSTGRES_QUERIES: {q.namespace: q.queries_entry() for q in stack.exporter_queries}}
