"""The declaration language. Definitions import everything they need from here."""

from .alerts import Alert, AlertScenario, AlertTest, RecordingRule
from .base import Definition, DefinitionError, duration_seconds, format_duration
from .dashboards import Dashboard, Panel, Query, Row, Threshold
from .environments import Environment
from .batch import BatchJob
from .exporters import PostgresQuery, QueryValue
from .meta import MetaMonitoring
from .metrics import Label, Metric, MetricKind
from .platforms import CentralMetrics, ComposeSettings, KubernetesSettings, ThanosSettings
from .rollout import Deployments, Rollout, RolloutCheck, RolloutStep
from .runbooks import Runbook
from .routing import EmailReceiver, PagerDutyReceiver, Severity, SlackReceiver, WebhookReceiver
from .slo import DEFAULT_TIERS, SLO, BurnRateTier, LatencySLI, ProbeSLI, RatioSLI
from .stack import Stack
from .targets import BlackboxProbe, ScrapeJob

__all__ = [
    "Alert", "AlertScenario", "AlertTest", "BatchJob", "BlackboxProbe", "CentralMetrics", "ComposeSettings", "Dashboard",
    "Definition", "DefinitionError", "Deployments", "Rollout", "RolloutCheck", "RolloutStep", "KubernetesSettings", "MetaMonitoring", "PostgresQuery", "QueryValue", "ThanosSettings",
    "EmailReceiver", "Environment", "Label", "Metric", "MetricKind", "PagerDutyReceiver", "Panel", "Query",
    "RecordingRule", "Row", "Runbook", "SLO", "BurnRateTier", "LatencySLI", "ProbeSLI", "RatioSLI", "DEFAULT_TIERS", "ScrapeJob", "Severity", "SlackReceiver", "Stack", "Threshold", "WebhookReceiver",
    "duration_seconds", "format_duration",
]
