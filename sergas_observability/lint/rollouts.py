"""Deployments and rollouts: every name they use is declared, every check can be counted per deployment."""

from __future__ import annotations

from ..model import Stack
from ..model.base import did_you_mean
from ..model.slo import ProbeSLI, RatioSLI
from .findings import finding
from .references import Emit, check_sli, valid


def check_deployments(stack: Stack, emit: Emit) -> None:
    deployments = stack.deployments
    for job in valid(stack.scrape_jobs):
        if not job.deployments:
            continue
        if deployments is None:
            emit(finding("stack/unknown-reference", job, "deployments",
                         "targets listed per deployment need Stack.deployments (the label that tells deployments apart)"))
            continue
        if job.exporter != "app":
            emit(finding("stack/unknown-reference", job, "deployments",
                         f"only the application's jobs (exporter 'app') are deployed side by side, not '{job.exporter}'"))
        for env, by_deployment in job.deployments.items():
            for name in by_deployment:
                if name not in deployments.names:
                    emit(finding("stack/unknown-reference", job, "deployments",
                                 f"environment '{env}': no deployment '{name}'{did_you_mean(name, deployments.names)} (known: {', '.join(deployments.names)})"))
    if deployments is None or deployments.invalid:
        return
    for metric in valid(stack.app_metrics):
        if deployments.label in metric.label_names:
            emit(finding("stack/name-collision", metric, "labels",
                         f"label '{deployments.label}' is the deployment label every application series carries (Stack.deployments)"))


def check_rollouts(stack: Stack, emit: Emit) -> None:
    rollouts = list(valid(stack.rollouts))
    if not rollouts:
        return
    deployments = stack.deployments
    if deployments is None:
        emit(finding("stack/unknown-reference", stack, "rollouts",
                     "rollouts judge deployments apart: declare Stack.deployments (the label and the deployments' names)"))
        return
    severities = {s.name for s in stack.severities}
    slos = {s.key: s for s in stack.slos}
    series = stack.series_labels()
    metrics = {m.name: m for m in stack.metrics}
    for rollout in rollouts:
        for field in ("baseline", "candidate"):
            value = getattr(rollout, field)
            if value not in deployments.names:
                emit(finding("stack/unknown-reference", rollout, field,
                             f"no deployment '{value}'{did_you_mean(value, deployments.names)} (known: {', '.join(deployments.names)})"))
        if rollout.severity not in severities:
            emit(finding("stack/unknown-reference", rollout, "severity",
                         f"severity '{rollout.severity}' is not declared{did_you_mean(rollout.severity, severities)} (known: {', '.join(sorted(severities))})"))
        for check in valid(rollout.checks):
            sli = check.sli
            if check.slo:
                slo = slos.get(check.slo)
                if slo is None:
                    emit(finding("stack/unknown-reference", check, "slo",
                                 f"no SLO '{check.slo}'{did_you_mean(check.slo, slos)} (an SLO's key is 'service/name')"))
                    continue
                sli = slo.sli
            else:
                check_sli(emit, check, sli, stack, series, metrics)
            field = "slo" if check.slo else "sli"
            if isinstance(sli, ProbeSLI):
                emit(finding("stack/unknown-reference", check, field,
                             "a probe is not per deployment (its series come from the blackbox exporter): judge the application's own SLIs"))
                continue
            for name in sli.metric_names():  # type: ignore[union-attr]
                metric = metrics.get(name)
                if metric is not None and metric.exporter is not None:
                    emit(finding("stack/unknown-reference", check, field,
                                 f"'{name}' comes from {metric.exporter}, whose series carry no deployment label: judge the application's own metrics"))
            if isinstance(sli, RatioSLI) and any(len(texts) > 1 for texts in sli.selector_fields().values()):
                emit(finding("stack/unknown-reference", check, field,
                             "counted per deployment, an SLI reads one selector per field (bad, good, total)"))


CHECKS = (check_deployments, check_rollouts)
