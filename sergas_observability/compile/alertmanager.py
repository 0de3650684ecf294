"""Per environment: alertmanager.yml (route tree, receivers, inhibit rules).

Each severity gets a route; when it reaches several receivers, each is a
child route with `continue: true`, so `amtool config routes test` shows every
receiver by name. Environments with `paging=False` drop paging receivers.
"""

from __future__ import annotations

from typing import Any

from ..model import EmailReceiver, Environment, PagerDutyReceiver, SlackReceiver, Stack, WebhookReceiver

SLACK_TITLE = "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} ({{ .CommonLabels.severity }}, {{ .CommonLabels.env }})"
SLACK_TEXT = (
    "{{ range .Alerts }}*{{ .Annotations.summary }}*\n{{ .Annotations.description }}\n"
    "Runbook: {{ .Annotations.runbook_url }}\n{{ end }}"
)
PAGERDUTY_DESCRIPTION = "{{ .CommonLabels.alertname }} ({{ .CommonLabels.env }}): {{ .CommonAnnotations.summary }}"


def compile(stack: Stack) -> dict[str, Any]:
    return {f"alertmanager/{env.name}/alertmanager.yml": config(stack, env) for env in stack.environments}


def severity_receivers(stack: Stack, env: Environment, severity: str) -> tuple[str, ...]:
    """The receivers a severity reaches in `env`."""
    names = stack.severity(severity).receivers
    return tuple(n for n in names if env.paging or not stack.receiver(n, env).pages)


def config(stack: Stack, env: Environment) -> dict[str, Any]:
    routes = []
    used = {stack.default_receiver}
    for severity in stack.severities:
        names = severity_receivers(stack, env, severity.name)
        used.update(names)
        route: dict[str, Any] = {"matchers": [f'severity="{severity.name}"']}
        if len(names) == 1:
            route["receiver"] = names[0]
        route.update(
            group_wait=severity.group_wait,
            group_interval=severity.group_interval,
            repeat_interval=severity.repeat_interval,
        )
        if len(names) > 1:
            route["routes"] = [
                {"receiver": name, **({"continue": True} if i < len(names) - 1 else {})} for i, name in enumerate(names)
            ]
        routes.append(route)
    return {
        "global": {"resolve_timeout": env.resolve_timeout},
        "route": {
            "receiver": stack.default_receiver,
            "group_by": list(stack.group_by),
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": routes,
        },
        "inhibit_rules": inhibit_rules(stack),
        "receivers": [receiver(stack.receiver(r.name, env)) for r in stack.receivers if r.name in used],
    }


def inhibit_rules(stack: Stack) -> list[dict[str, Any]]:
    rules = []
    for severity in stack.severities:
        if severity.inhibits:
            targets = "|".join(severity.inhibits)
            rules.append(
                {
                    "source_matchers": [f'severity="{severity.name}"'],
                    "target_matchers": [f'severity=~"{targets}"'],
                    "equal": list(stack.inhibit_equal),
                }
            )
    return rules


def receiver(r: Any) -> dict[str, Any]:
    if isinstance(r, PagerDutyReceiver):
        cfg: dict[str, Any] = {
            "routing_key_file": r.routing_key_file,
            "send_resolved": r.send_resolved,
            "description": PAGERDUTY_DESCRIPTION,
        }
        if r.url:
            cfg["url"] = r.url
        return {"name": r.name, "pagerduty_configs": [cfg]}
    if isinstance(r, SlackReceiver):
        return {
            "name": r.name,
            "slack_configs": [
                {
                    "api_url_file": r.api_url_file,
                    "channel": r.channel,
                    "send_resolved": r.send_resolved,
                    "title": SLACK_TITLE,
                    "text": SLACK_TEXT,
                }
            ],
        }
    if isinstance(r, EmailReceiver):
        cfg = {
            "to": r.to,
            "from": r.from_address,
            "smarthost": r.smarthost,
            "require_tls": r.require_tls,
            "send_resolved": r.send_resolved,
        }
        if r.auth_username:
            cfg.update(auth_username=r.auth_username, auth_password_file=r.auth_password_file)
        return {"name": r.name, "email_configs": [cfg]}
    if isinstance(r, WebhookReceiver):
        cfg = {"url": r.url, "send_resolved": r.send_resolved, "max_alerts": r.max_alerts}
        if r.bearer_token_file:
            cfg["http_config"] = {"authorization": {"credentials_file": r.bearer_token_file}}
        return {"name": r.name, "webhook_configs": [cfg]}
    raise TypeError(f"unknown receiver type {type(r).__name__}")
