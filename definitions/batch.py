"""Batch jobs of seed section 8: backups and migrations, watched by what their runs report.

Each run reports through the Pushgateway (`batch_run` in
sergas_observability.instrumentation); a job that stops succeeding, or stops
reporting, breaches its `max_age`. The WAL archive runs every 5 minutes and
the seed's RPO is under an hour; the snapshot runs daily; migrations run at
each deploy.
"""

from sergas_observability.model import BatchJob

from .runbooks import RUNBOOKS
DATABASE = "sergas-database-performance"

wal_backup = BatchJob(
    name="postgres-wal-backup",
    service="postgres",
    description="The transaction-log backup (every 5 minutes) keeps the recovery point within the 1 hour RPO.",
    max_age="1h",
    severity="P1",
    runbook_url=f"{RUNBOOKS}/DATABASE_ISSUES.md#backups",
    dashboard=DATABASE,
)

snapshot_backup = BatchJob(
    name="postgres-snapshot",
    service="postgres",
    description="The daily database snapshot is the base every restore starts from.",
    max_age="26h",
    severity="P1",
    runbook_url=f"{RUNBOOKS}/DATABASE_ISSUES.md#backups",
    dashboard=DATABASE,
)

migrations = BatchJob(
    name="db-migrations",
    service="sergas-app",
    description="Database migrations run at every deploy, before traffic moves to the new colour.",
    severity="P1",
    runbook_url=f"{RUNBOOKS}/incident_response.md#failed-migration",
    dashboard=DATABASE,
)

BATCH_JOBS = (wal_backup, snapshot_backup, migrations)
