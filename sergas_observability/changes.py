"""What a generate changes, in a reviewer's terms, before any diff.

Files added, changed and removed per output (the top-level directory), then
the alerts and recording rules, SLOs and dashboard panels added, removed or
changed, by name (at most SHOWN names a line, then how many more). Read from
the rendered files themselves, so it says what the servers will see; only
the files that differ are parsed, as the rest hold the same definitions on
both sides.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

import yaml

_RULES = "prometheus/rules/"
SHOWN = 10
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DASHBOARDS = "grafana/dashboards/"


def summary(old: Mapping[str, str], new: Mapping[str, str]) -> list[str]:
    """Lines describing the change from `old` to `new` (path -> text); [] when nothing changes."""
    lines = _files(old, new)
    if not lines:
        return []
    slos = _slos(old), _slos(new)  # from every file: an SLO's other file may be the unchanged one
    differ = {path for path in set(old) | set(new) if old.get(path) != new.get(path)}
    old = {path: text for path, text in old.items() if path in differ}
    new = {path: text for path, text in new.items() if path in differ}
    for what, before, after in (
        ("alert", _rules(old, "alert"), _rules(new, "alert")),
        ("recording rule", _rules(old, "record"), _rules(new, "record")),
        ("SLO", *slos),
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
        f"{what}s {verb}: {_some(names)}" for verb, names in (("added", added), ("changed", changed), ("removed", removed)) if names
    ]


def _some(names: list[str]) -> str:
    shown = ", ".join(names[:SHOWN])
    return shown if len(names) <= SHOWN else f"{shown} and {len(names) - SHOWN} more"


def _load(text: str) -> object:
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError:  # a hand-edited file on disk: summarise what parses
        return None


def _rules(tree: Mapping[str, str], key: str) -> dict[str, object]:
    """Alerting (key 'alert') or recording ('record') rules by name, over the shared rule files."""
    found: dict[str, object] = {}
    for path, text in _under(tree, _RULES, ".yml"):
        document = _load(text)
        groups = document.get("groups", []) if isinstance(document, dict) else []
        for group in groups if isinstance(groups, list) else []:
            rules = [r for r in group.get("rules", []) if isinstance(r, dict) and key in r] if isinstance(group, dict) else []
            for rule in rules:
                found[f"{rule[key]}" if key == "alert" else f"{_recorded(rule, rules)} ({group.get('name')})"] = rule
    return found


def _recorded(rule: dict[str, object], rules: list[dict[str, object]]) -> str:
    """A recording rule's name, with the labels that tell it from the group's other rules of that name."""
    same = [r for r in rules if r["record"] == rule["record"]]
    if len(same) == 1:
        return str(rule["record"])
    labels = [r.get("labels") if isinstance(r.get("labels"), dict) else {} for r in same]
    own = rule.get("labels") if isinstance(rule.get("labels"), dict) else {}
    varying = sorted(k for k in own if len({str(ls.get(k)) for ls in labels}) > 1)  # type: ignore[union-attr]
    return f"{rule['record']}{{{','.join(f'{k}={own[k]}' for k in varying)}}}"  # type: ignore[index]


def _slos(tree: Mapping[str, str]) -> dict[str, object]:
    """An SLO's rule files by its name (slo-<name>.yml, and slo-<name>.calendar.yml for its calendar counts)."""
    found: dict[str, list[str]] = {}
    for path, text in sorted(_under(tree, _RULES + "slo-", ".yml")):
        found.setdefault(path[len(_RULES) + 4:-4].removesuffix(".calendar"), []).append(text)
    return {name: texts for name, texts in found.items()}


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
