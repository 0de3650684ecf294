"""Profiles: the real Stack re-targeted for another place to run it.

A profile never copies or hand-writes configuration. It derives a new Stack
from the real one, changing only *when* things happen (intervals, `for`,
batching) and *where* they go (scrape targets, Alertmanager, receivers), so
every expression, label, annotation, route and inhibition that reaches the
servers is the one the definitions declare. The derived Stack goes through
the same validation and the same compilers as the real one.

`e2e` is the profile of the live-stack tests (tests/e2e): everything on
127.0.0.1, one second where production waits minutes.
"""

from __future__ import annotations

from typing import Any

from .model.meta import meta_alerts
from .model import (
    Alert,
    Definition,
    Environment,
    ScrapeJob,
    Severity,
    Stack,
    WebhookReceiver,
    duration_seconds,
)

E2E_ENV = "e2e"


def _derive(definition: Definition, **changes: Any) -> Any:
    """`definition` rebuilt with `changes`, validated again like a hand-written one."""
    # Shallow: unchanged nested definitions are passed on as they are.
    data = {name: getattr(definition, name) for name in definition.model_fields_set}
    data.update(changes)
    return type(definition)(**data)


def _shorter(duration: str, cap: str) -> str:
    """`duration`, or `cap` when that is shorter ('0s' stays '0s': no `for` is a decision)."""
    seconds = duration_seconds(duration)
    return duration if seconds == 0 or seconds <= duration_seconds(cap) else cap


def _paging_environment(stack: Stack) -> Environment:
    """The environment the e2e one imitates: the first that pages (production)."""
    return next((env for env in stack.environments if env.paging), stack.environments[0])


def _platforms(stack: Stack, *env_names: str) -> dict[str, Any]:
    """Platform settings that name environments (compose, Kubernetes, central), re-aimed at the profile's (compose at the first)."""
    changes: dict[str, Any] = {}
    compose = getattr(stack, "compose", None)
    if compose is not None:
        changes["compose"] = _derive(compose, environment=env_names[0])
    kubernetes = getattr(stack, "kubernetes", None)
    if kubernetes is not None and kubernetes.namespaces:
        kept = {env: ns for env, ns in kubernetes.namespaces.items() if env in env_names}
        changes["kubernetes"] = _derive(kubernetes, namespaces=kept)
    central = getattr(stack, "central", None)
    if central is not None:
        # Remote write only where the environment shipped before: never from
        # the e2e profile, whose traffic must stay on loopback.
        shipped = tuple(name for name in env_names if name in central.environments)
        changes["central"] = _derive(central, environments=shipped) if shipped else None
    return changes


def only(stack: Stack, env_name: str) -> Stack:
    """`stack` as deployed in one of its environments, unchanged otherwise.

    Per-environment figures (the lint's latency budget, say) then describe
    that environment rather than the worst of all.
    """
    names = [env.name for env in stack.environments]
    if env_name not in names:
        raise stack.fail("environments", f"no environment '{env_name}' (known: {', '.join(names)})")
    return _derive(
        stack,
        environments=tuple(env for env in stack.environments if env.name == env_name),
        scrape_jobs=tuple(
            _derive(job, targets={env_name: job.targets[env_name]},
                    deployments={env_name: job.deployments[env_name]} if env_name in job.deployments else {})
            for job in stack.scrape_jobs if env_name in job.targets
        ),
        probes=tuple(
            _derive(probe, targets={env_name: probe.targets[env_name]}, exporter_address={env_name: probe.exporter_address[env_name]})
            for probe in stack.probes
            if env_name in probe.targets
        ),
        **_platforms(stack, env_name),
    )


def e2e(
    stack: Stack,
    *,
    app_targets: tuple[str, ...] = (),
    alertmanager: str,
    webhook_base: str,
    interval: str = "1s",
    alert_for: str = "2s",
    group_wait: str = "1s",
    group_interval: str = "2s",
    jobs: tuple[str, ...] | None = None,
    targets: dict[str, tuple[str, ...]] | None = None,
    app_deployments: dict[str, tuple[str, ...]] | None = None,
) -> Stack:
    """`stack` with one environment 'e2e' that runs entirely on loopback, fast.

    - scrape and evaluation every `interval`; only the application's scrape
      jobs (or those named in `jobs`, else those named in `targets`); a job
      named in `targets` is aimed at its own addresses there, any other at
      `app_targets`, or with `app_deployments` (deployment -> addresses) at
      those, each target labelled with its deployment; no blackbox probes;
    - alerts keep their expression, labels and annotations; `for` is capped at
      `alert_for`; the real stack's meta-alerts are listed among them (its
      jobs' alerts, whichever jobs the profile scrapes), their `for` capped too;
    - every receiver keeps its name (so routes and inhibitions are unchanged)
      but becomes a webhook to `webhook_base`/<name>, keeping `send_resolved`,
      so a test sees which receivers an alert reached;
    - severities keep receivers and inhibitions; group_wait and group_interval
      are capped at `group_wait` and `group_interval`;
    - paging is on, as in the environment it imitates (production).
    """
    model = _paging_environment(stack)
    env = Environment(
        name=E2E_ENV,
        external_labels={**model.external_labels, stack.environment_label: E2E_ENV},
        scrape_interval=interval,
        scrape_timeout=interval,
        evaluation_interval=interval,
        retention="1d",
        alertmanagers=(alertmanager,),
        paging=True,
        resolve_timeout=model.resolve_timeout,
    )
    aimed = dict(targets or {})
    if jobs is not None:
        wanted = set(jobs)
    elif aimed:
        wanted = set(aimed)
    else:
        wanted = {job.name for job in stack.scrape_jobs if job.exporter == "app"}
    unknown = (wanted | set(aimed)) - {job.name for job in stack.scrape_jobs}
    if unknown:
        raise stack.fail("scrape_jobs", f"the e2e profile cannot scrape unknown job '{sorted(unknown)[0]}'")
    unscraped = set(aimed) - wanted
    if unscraped:
        raise stack.fail("scrape_jobs", f"the e2e profile has targets for job '{sorted(unscraped)[0]}', which `jobs` leaves out")
    if app_deployments:
        app_targets = tuple(a for addresses in app_deployments.values() for a in addresses)
    untargeted = sorted(name for name in wanted if not aimed.get(name) and not app_targets)
    if untargeted:
        raise stack.fail("scrape_jobs", f"the e2e profile has no targets for job '{untargeted[0]}'")
    def deployed(job: ScrapeJob) -> dict[str, Any]:
        return {E2E_ENV: dict(app_deployments)} if app_deployments and job.exporter == "app" and job.name not in aimed else {}

    scrape_jobs: list[ScrapeJob] = [
        _derive(job, targets={E2E_ENV: tuple(aimed.get(job.name) or app_targets)}, deployments=deployed(job), interval=None, timeout=None)
        for job in stack.scrape_jobs
        if job.name in wanted
    ]
    return _derive(
        stack,
        environments=(env,),
        scrape_jobs=tuple(scrape_jobs),
        probes=(),
        meta=None,
        **_fast_notifications(stack, webhook_base, alert_for, group_wait, group_interval),
        **_platforms(stack, E2E_ENV),
    )


def _fast_notifications(stack: Stack, webhook_base: str, alert_for: str, group_wait: str, group_interval: str) -> dict[str, Any]:
    """Receivers as webhooks to `webhook_base`/<name> (paging if they paged); `for`, group_wait and group_interval capped."""
    base = webhook_base.rstrip("/")
    receivers = tuple(
        # A receiver that pages still pages (so environments that never page drop it, as in the real routes).
        WebhookReceiver(name=r.name, url=f"{base}/{r.name}", send_resolved=r.send_resolved, paging=r.pages) for r in stack.receivers
    )
    severities: list[Severity] = []
    for severity in stack.severities:
        wait = _shorter(severity.group_wait, group_wait)
        every = _shorter(severity.group_interval, group_interval)
        severities.append(_derive(severity, group_wait=wait, group_interval=every))
    # The meta-alerts of the real stack's jobs, listed as alerts: the profile
    # scrapes fewer jobs, and its rules must still be the real ones.
    listed = stack.alerts + meta_alerts(stack)
    alerts: list[Alert] = [_derive(alert, for_=_shorter(alert.for_, alert_for)) for alert in listed]
    recording = tuple(_derive(rule, interval=None) if rule.interval else rule for rule in stack.recording_rules)
    return {"receivers": receivers, "severities": tuple(severities), "alerts": tuple(alerts), "recording_rules": recording}


def central_e2e(
    stack: Stack,
    *,
    app_targets: dict[str, tuple[str, ...]],
    alertmanagers: dict[str, str],
    central_url: str,
    webhook_base: str,
    interval: str = "1s",
    alert_for: str = "2s",
    group_wait: str = "1s",
    group_interval: str = "2s",
) -> Stack:
    """`stack`'s environments that ship to the central store, on loopback and fast: each keeps
    its name, external labels and paging, scrapes only the application at `app_targets[env]`,
    notifies its own Alertmanager `alertmanagers[env]`, and remote-writes to the
    VictoriaMetrics at `central_url`; notifications as in `e2e` (webhooks, capped timings)."""
    if stack.central is None:
        raise stack.fail("central", "the central profile needs Stack.central (the environments that ship)")
    shipped = [env for env in stack.environments if env.name in stack.central.environments]
    missing = [env.name for env in shipped if env.name not in app_targets or env.name not in alertmanagers]
    if missing:
        raise stack.fail("central", f"the central profile has no targets or Alertmanager for environment '{missing[0]}'")
    envs = tuple(
        # Receivers become webhooks, so an override (a Slack channel per environment) has nothing to replace.
        _derive(env, scrape_interval=interval, scrape_timeout=interval, evaluation_interval=interval, retention="1d",
                alertmanagers=(alertmanagers[env.name],), receiver_overrides={})
        for env in shipped
    )
    jobs = tuple(
        _derive(job, targets={env.name: app_targets[env.name] for env in shipped}, deployments={}, interval=None, timeout=None)
        for job in stack.scrape_jobs if job.exporter == "app"
    )
    url = central_url.rstrip("/")
    central = _derive(stack.central, remote_write_url=f"{url}/api/v1/write", query_url=url, tenant=None, username=None,
                      password_file=None, environments=tuple(env.name for env in shipped))
    return _derive(
        stack,
        environments=envs,
        scrape_jobs=jobs,
        probes=(),
        meta=None,
        **_fast_notifications(stack, webhook_base, alert_for, group_wait, group_interval),
        **{**_platforms(stack, *(env.name for env in shipped)), "central": central},
    )


__all__ = ["E2E_ENV", "central_e2e", "e2e", "only"]
