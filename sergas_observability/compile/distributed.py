"""Rule files for a ruler that queries every environment: Thanos Ruler, Mimir ruler.

Each environment's Prometheus evaluates the rule files under
prometheus/rules/ against its own series only. A central ruler queries the
long-term store, where the series of every environment meet (told apart by
the external labels each Prometheus attaches). Evaluated there unchanged,
`sum by (job) (...)` would add production to staging, `a / on(job) b` would
find two matches per job and fail, and `absent(up{job="x"})` would stay
quiet while one environment is down.

So every rule is scoped per environment: each vector selector gains
`env="<env>"` (see promql.scoping), and the rule gains the environment's
external labels, so its result names the environment even after an
aggregation dropped `env` -- the same labels the environment's own Prometheus
would have attached. The result is one file per (environment, rule file):

- thanos/rules/<env>/<file>.yml: a Prometheus rule file whose groups carry
  Thanos's `partial_response_strategy` (Stack.thanos);
- mimir/rules/<env>/<file>.yml: a mimirtool namespace file
  (`namespace: <stack>-<env>-<file>`, `groups: [...]`);
- victoriametrics/rules/<env>/<file>.yml: the plain groups, which vmalert
  loads (it refuses both keys above), and victoriametrics/<env>/vmalert.default,
  the flags of that environment's vmalert: its rules, the central store
  (Stack.central, a VictoriaMetrics) to query, to write recorded series and
  alert state to and to restore state from, and the environment's
  Alertmanagers. Written for the environments that ship to the central store.

Evaluate each rule in one place only: where a central ruler takes over,
drop `rule_files` from the environment's Prometheus.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..model import Environment, Stack
from ..output import HEADER
from ..promql.scoping import scope
from .packaging import rule_groups


def compile(stack: Stack) -> dict[str, Any]:
    """The rule files for `stack` on their own (the pipeline calls `package`)."""
    from . import produce

    return package(stack, produce(stack))


def package(stack: Stack, produced: Mapping[str, Any]) -> dict[str, Any]:
    groups = rule_groups(produced)
    documents: dict[str, Any] = {}
    for env in stack.environments:
        by_file: dict[str, list[dict[str, Any]]] = {}
        for stem, group in groups:
            by_file.setdefault(stem, []).append(scoped_group(group, env, stack.environment_label))
        central = stack.central is not None and env.name in stack.central.environments and not vmalert_problem(stack)
        for stem, scoped in by_file.items():
            documents[f"thanos/rules/{env.name}/{stem}.yml"] = {"groups": [thanos_group(stack, g) for g in scoped]}
            documents[f"mimir/rules/{env.name}/{stem}.yml"] = {"namespace": mimir_namespace(stack, env, stem), "groups": scoped}
            if central:
                documents[f"victoriametrics/rules/{env.name}/{stem}.yml"] = {"groups": scoped}
        if central:
            documents[f"victoriametrics/{env.name}/vmalert.default"] = vmalert_defaults(stack, env)
    return documents


# Where generated/victoriametrics/ is installed on a vmalert host (Debian ships the
# binary in the victoria-metrics package, with no unit of its own).
VMALERT_DIR = "/etc/vmalert/generated"
# VictoriaMetrics's Prometheus remote-write endpoint: vmalert (1.79) appends it to its -remoteWrite.url.
VM_WRITE_PATH = "/api/v1/write"


def vmalert_problem(stack: Stack) -> str | None:
    """Why the victoriametrics output is empty for `stack` (None when it is not)."""
    central = stack.central
    if central is None:
        return "no Stack.central (the VictoriaMetrics every environment remote-writes to)"
    if not central.remote_write_url.rstrip("/").endswith(VM_WRITE_PATH):
        return (f"the central store is no VictoriaMetrics: vmalert writes recorded series to <url>{VM_WRITE_PATH}, "
                f"and central.remote_write_url '{central.remote_write_url}' is no such endpoint")
    if central.tenant:
        return (f"vmalert 1.79 sends no tenant header (central.tenant '{central.tenant}'): name the tenant in the URLs "
                "(VictoriaMetrics cluster: .../insert/<tenant>/prometheus) and leave tenant out")
    return None


def vmalert_flags(stack: Stack, env: Environment, rules_dir: str = VMALERT_DIR + "/rules") -> list[str]:
    """The command line of `env`'s vmalert (without the binary), its rules under `rules_dir`."""
    central = stack.central
    assert central is not None
    write = central.remote_write_url.rstrip("/").removesuffix(VM_WRITE_PATH)
    flags = [f"-rule={rules_dir}/{env.name}/*.yml", f"-datasource.url={central.query_url}", f"-remoteWrite.url={write}",
             f"-remoteRead.url={central.query_url}", f"-evaluationInterval={env.evaluation_interval}"]
    flags += [f"-notifier.url=http://{address}" for address in env.alertmanagers]
    if central.username:
        for target in ("datasource", "remoteWrite", "remoteRead"):
            flags.append(f"-{target}.basicAuth.username={central.username}")
            if central.password_file:
                flags.append(f"-{target}.basicAuth.passwordFile={central.password_file}")
    return flags


def vmalert_defaults(stack: Stack, env: Environment) -> str:
    return (
        f"# {HEADER}\n"
        f"# vmalert for {env.name}: the {env.name}-scoped rules, evaluated against the central store.\n"
        f"# Install generated/victoriametrics/ as {VMALERT_DIR}/ and run `vmalert $ARGS` (e.g. a unit\n"
        "# with EnvironmentFile= this file). Drop rule_files from this environment's Prometheus\n"
        "# once vmalert evaluates them: each rule in one place.\n"
        f'ARGS="{" ".join(vmalert_flags(stack, env))}"\n'
    )


def scoped_group(group: dict[str, Any], env: Environment, label: str) -> dict[str, Any]:
    """`group` as evaluated by a ruler that sees every environment (`label`: the environment label)."""
    return {**group, "rules": [scoped_rule(rule, env, label) for rule in group["rules"]]}


def scoped_rule(rule: dict[str, Any], env: Environment, label: str) -> dict[str, Any]:
    out = dict(rule)
    # The validation pass made sure every environment sets the environment label.
    out["expr"] = scope(rule["expr"], {label: env.external_labels[label]})
    # The rule's own labels win over the environment's, as they would over
    # external labels in the environment's Prometheus.
    out["labels"] = dict(sorted({**env.external_labels, **rule.get("labels", {})}.items()))
    if "annotations" in rule:  # keep the usual key order: labels before annotations
        out["annotations"] = out.pop("annotations")
    return out


def thanos_group(stack: Stack, group: dict[str, Any]) -> dict[str, Any]:
    strategy = stack.thanos.partial_response.get(group["name"], stack.thanos.default_partial_response)
    head = {key: value for key, value in group.items() if key != "rules"}
    return {**head, "partial_response_strategy": strategy, "rules": group["rules"]}


def mimir_namespace(stack: Stack, env: Environment, stem: str) -> str:
    # Unique even when every environment shares one Mimir tenant.
    return f"{stack.name}-{env.name}-{stem}"
