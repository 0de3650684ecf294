"""What a generate changes, in a reviewer's terms, before any diff.

Files added, changed and removed per output (the top-level directory), then
the alerts and recording rules, SLOs and dashboard panels added, removed or
changed, by name. Read from the rendered files themselves, so it says what
the servers will see.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

import yaml

_RULES = "prometheus/rules/"
_DASHBOARDS = "grafana/dashboards/"


def summary(old: Mapping[str, str], new: Mapping[str, str]) -> list[str]:
    """Lines describing the change from `old` to `new` (path -> text); [] when nothing changes."""
    lines = _files(old, new)
    if not lines:
        return []
    for what, before, after in (
        ("alert", _rules(old, "alert"), _rules(new, "alert")),
        ("recording rule", _rules(old, "record"), _rules(new, "record")),
        ("SLO", _slos(old), _slos(new)),
        ("panel", _panels(old), _panels(new)),
    ):
        lines += _named(what, before, after)
    return lines


def _files(old: Mapping[str, str], new: Mapping[str, str]) -> list[str]:
    counts: dict[str, list[int]] = {}
    for path in set(old) | set(new):
        if old.get(path) == new.get(path):
            continue
        kind = 0 if path not in old else 2 if path not in new else 1
        counts.setdefault(path.split("/", 1)[0], [0, 0, 0])[kind] += 1
    return [
        f"{output}: " + ", ".join(f"{n} {word}" for n, word in zip(numbers, ("added", "changed", "removed")) if n)
        for output, numbers in sorted(counts.items())
    ]


def _named(what: str, before: Mapping[str, object], after: Mapping[str, object]) -> list[str]:
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(name for name in set(before) & set(after) if before[name] != after[name])
    return [
        f"{what}s {verb}: {', '.join(names)}" for verb, names in (("added", added), ("changed", changed), ("removed", removed)) if names
    ]


def _load(text: str) -> object:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:  # a hand-edited file on disk: summarise what parses
        return None


def _rules(tree: Mapping[str, str], key: str) -> dict[str, object]:
    """Alerting (key 'alert') or recording ('record') rules by name, over the shared rule files."""
    found: dict[str, object] = {}
    for path, text in _under(tree, _RULES, ".yml"):
        document = _load(text)
        groups = document.get("groups", []) if isinstance(document, dict) else []
        for group in groups if isinstance(groups, list) else []:
            for rule in group.get("rules", []) if isinstance(group, dict) else []:
                if isinstance(rule, dict) and key in rule:
                    found[f"{rule[key]}" if key == "alert" else f"{rule[key]} ({group.get('name')})"] = rule
    return found


def _slos(tree: Mapping[str, str]) -> dict[str, object]:
    return {path[len(_RULES) + 4:-4]: text for path, text in _under(tree, _RULES + "slo-", ".yml")}


def _panels(tree: Mapping[str, str]) -> dict[str, object]:
    found: dict[str, object] = {}
    for _, text in _under(tree, _DASHBOARDS, ".json"):
        try:
            dashboard = json.loads(text)
        except ValueError:
            continue
        for panel in dashboard.get("panels", []):
            if panel.get("type") != "row":
                found[f"{dashboard.get('title')} / {panel.get('title')}"] = {k: v for k, v in panel.items() if k not in ("id", "gridPos")}
    return found


def _under(tree: Mapping[str, str], prefix: str, suffix: str) -> Iterable[tuple[str, str]]:
    return ((path, text) for path, text in tree.items() if path.startswith(prefix) and path.endswith(suffix) and "/" not in path[len(prefix):])
