"""Deployment environments and what differs between them."""

from __future__ import annotations


from .base import after_check, Definition, Duration, LabelSet, duration_seconds
from .routing import Receiver


class Environment(Definition):
    """One deployment environment (its own Prometheus and Alertmanager).

    `paging=False` removes every paging receiver (PagerDuty) from its routes:
    the environment still notifies, it never wakes anyone.
    `receiver_overrides` replaces receivers by name, e.g. another Slack channel.
    """

    kind_name = "Environment"
    name: str
    external_labels: LabelSet = {}
    scrape_interval: Duration = "15s"
    scrape_timeout: Duration = "10s"
    evaluation_interval: Duration = "15s"
    retention: Duration = "30d"
    alertmanagers: tuple[str, ...] = ("localhost:9093",)
    paging: bool = True
    receiver_overrides: dict[str, Receiver] = {}
    resolve_timeout: Duration = "5m"

    @after_check
    def _sane_intervals(self) -> "Environment":
        if duration_seconds(self.scrape_timeout) > duration_seconds(self.scrape_interval):
            raise self.fail("scrape_timeout", f"scrape_timeout {self.scrape_timeout} is longer than scrape_interval {self.scrape_interval}")
        return self
