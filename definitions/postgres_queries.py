"""Custom postgres_exporter queries: what the built-in collectors cannot tell.

The seed's "slow queries > 5 s" is about queries, but postgres_exporter's
`pg_stat_activity_max_tx_duration` is the age of the oldest *transaction*
(now - xact_start), which a transaction of many short queries also grows.
This query measures the running time of the longest active query per
database (now - query_start); every database has a row, 0 when idle, so the
series never goes missing. Seeing other sessions needs the exporter role's
pg_monitor grant (generated/compose/postgres-init/10-monitoring-role.sh).
"""

from sergas_observability.model import PostgresQuery, QueryValue

ACTIVE_QUERIES = PostgresQuery(
    namespace="pg_active_queries",
    sql="""
        SELECT d.datname, COALESCE(MAX(EXTRACT(EPOCH FROM now() - a.query_start)), 0) AS max_duration_seconds
        FROM pg_database d
        LEFT JOIN pg_stat_activity a
          ON a.datid = d.oid AND a.state = 'active' AND a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()
        WHERE NOT d.datistemplate
        GROUP BY d.datname
    """,
    labels=("datname",),
    values=(QueryValue(column="max_duration_seconds", help="Running time of the longest active query, in seconds, by database (0 when none runs)."),),
)

POSTGRES_QUERIES = (ACTIVE_QUERIES,)
