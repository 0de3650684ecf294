"""thanos/ and mimir/: rule files for a ruler that sees every environment at once.

The proof that scoping works is behavioural: the generated promtool tests
of the alerts are replayed against the Thanos files with the series of two
environments side by side, where the unscoped rules would have mixed them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml

from sergas_observability.lint import ensure_valid
from sergas_observability import toolchain
from sergas_observability.compile import distributed
from sergas_observability.model import DefinitionError
from sergas_observability.model.platforms import ThanosSettings
from sergas_observability.promql import selectors
from sergas_observability.promql.scoping import scope


def _load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def _plain_rule_file(document: dict[str, Any]) -> dict[str, Any]:
    """A Thanos or Mimir file as promtool 2.42 reads it (it knows neither extra key)."""
    groups = [{k: v for k, v in g.items() if k != "partial_response_strategy"} for g in document["groups"]]
    return {"groups": groups}


# -- the lexer behind the scoping -------------------------------------------------------------


def _every_expression(stack, tree) -> list[str]:
    exprs = [
        rule["expr"]
        for path in (tree / "prometheus/rules").glob("*.yml")
        for group in _load(path)["groups"]
        for rule in group["rules"]
    ]
    return exprs + [
        "sum without (a) (rate(x{job=\"a\",s!~\"5..\"}[5m] offset 1m)) / ignoring(b) group_right(c) topk(3, y @ 100) > bool 0.05",
        'max_over_time(rate(x[5m])[1h:]) unless on() absent(y{a="q\\"uote}"}) or vector(1) and -(z offset 5m)',
        'count_values("v", y) == bool 2 or label_replace(up, "a", "$1", "b", "(.*)") or quantile(0.9, x) > 1e-05',
        'sum by (job) (x) + sum(y) by (job) + count without(i) ({__name__="z", job="a",}) * on(job) group_left w',
        '# a comment {not="a selector"}\nhistogram_quantile(0.9, sum by (le) (rate(h_bucket{ le!="+Inf" }[5m:1m]))) > Inf < NaN',
        'time() - timestamp(q) > 1e3 and q < bool 0x1f and a:recorded:rate5m @ start()',
    ]


def _without(canonical: str, matcher: str) -> str:
    """The parser's canonical text with an added matcher taken out again (it prints `x[5m]` as `x{}[5m]`)."""
    return canonical.replace("," + matcher + "}", "}").replace("{" + matcher + "}", "").replace("{}", "")


def test_scoping_adds_the_matcher_to_every_selector_and_changes_nothing_else(stack, tree):
    exprs = _every_expression(stack, tree)
    assert sum(1 for expr in exprs if selectors(expr)) > 10
    for expr in exprs:  # a constant such as an SLO's vector(0.99) has no selector to scope
        scoped = scope(expr, {"env": "production"})
        found = selectors(scoped)
        assert [(s.metric, s.matchers) for s in found] == [(s.metric, s.matchers + (("env", "=", "production"),)) for s in selectors(expr)], scoped
        assert _without(str(promql_parser.parse(scoped)), 'env="production"') == str(promql_parser.parse(expr)).replace("{}", ""), scoped
        # The text is the rule's own: the same lines, each with the matchers added.
        assert len(scoped.splitlines()) == len(expr.splitlines())
        def bare(text: str) -> str:
            text = re.sub(r",(\s*)}", r"\1}", text.replace('env="production"', ""))
            return re.sub(r"\{\s*\}", "", text)
        assert bare(scoped) == bare(expr)
    assert scope("up", {}) == "up"


# -- the files -----------------------------------------------------------------------------------


def test_thanos_and_mimir_files_pass_promtool(stack, tree, tmp_path):
    files = []
    for kind in ("thanos", "mimir"):
        for path in sorted((tree / kind / "rules").glob("*/*.yml")):
            plain = tmp_path / f"{kind}-{path.parent.name}-{path.name}"
            plain.write_text(yaml.safe_dump(_plain_rule_file(_load(path))))
            files.append(plain)
    stems = {p.stem for p in (tree / "prometheus/rules").glob("*.yml")}
    assert len(files) == 2 * len(stack.environments) * len(stems)
    assert toolchain.check_rules(files) == []


def test_every_thanos_group_says_how_to_treat_partial_responses(stack, tree):
    strategies = [
        group["partial_response_strategy"]
        for path in (tree / "thanos/rules").glob("*/*.yml")
        for group in _load(path)["groups"]
    ]
    assert strategies and set(strategies) <= {"warn", "abort"}


def test_partial_response_is_chosen_per_group(stack, tree):
    groups = [g["name"] for p in (tree / "prometheus/rules").glob("*.yml") for g in _load(p)["groups"]]
    chosen = groups[0]
    custom = stack.model_copy(update={"thanos": ThanosSettings(partial_response={chosen: "warn"})})
    documents = distributed.compile(custom)
    seen = {}
    for path, document in documents.items():
        if path.startswith("thanos/"):
            for group in document["groups"]:
                seen.setdefault(group["name"], set()).add(group["partial_response_strategy"])
    assert seen[chosen] == {"warn"}
    assert all(strategy == {"abort"} for name, strategy in seen.items() if name != chosen)


def test_an_unknown_group_is_named_in_the_error(stack):
    custom = stack.model_copy(update={"thanos": ThanosSettings(partial_response={"sergas-alertz": "warn"})})
    with pytest.raises(DefinitionError) as error:
        ensure_valid(custom)
    assert "partial_response" in str(error.value) and "sergas-alertz" in str(error.value)


def test_mimir_namespace_files(stack, tree):
    namespaces = []
    for env in stack.environments:
        for path in sorted((tree / "mimir/rules" / env.name).glob("*.yml")):
            document = _load(path)
            assert set(document) == {"namespace", "groups"}
            thanos = _load(tree / "thanos/rules" / env.name / path.name)
            assert document["groups"] == _plain_rule_file(thanos)["groups"]
            namespaces.append(document["namespace"])
    assert len(namespaces) == len(set(namespaces))  # unique even in one shared tenant


def test_scoped_rules_carry_the_environment_labels(stack, tree):
    for env in stack.environments:
        for path in (tree / "thanos/rules" / env.name).glob("*.yml"):
            for group in _load(path)["groups"]:
                for rule in group["rules"]:
                    for name, value in env.external_labels.items():
                        assert rule["labels"][name] == value


# -- behaviour: two environments in one store ------------------------------------------------------


def _in_env(series: str, env: str) -> str:
    return scope(series, {"env": env})


def _replayed_tests(tree: Path, env, other) -> list[dict[str, Any]]:
    """The generated alert tests, with `env` and `other` writing into the same store.

    Firing case: the firing series in `env`, the quiet ones in `other`; the
    alert fires with `env`'s labels. Quiet case: the other way round; a rule
    that mixed environments would fire (or stay quiet) on the wrong data.
    """
    source = _load(tree / "prometheus/tests/alerts.test.yml")
    tests = {t["name"]: t for t in source["tests"]}
    replayed = []
    for name, firing in tests.items():
        if not name.endswith(" fires"):
            continue
        quiet = tests[name.removesuffix(" fires") + " stays quiet"]

        def placed(test: dict[str, Any], where: str) -> list[dict[str, Any]]:
            return [{**s, "series": _in_env(s["series"], where)} for s in test["input_series"]]

        expected = [
            {**case, "exp_alerts": [
                {**alert, "exp_labels": {**alert["exp_labels"], **env.external_labels}} for alert in case["exp_alerts"]
            ]}
            for case in firing["alert_rule_test"]
        ]
        replayed.append({**firing, "input_series": placed(firing, env.name) + placed(quiet, other.name), "alert_rule_test": expected})
        silent = [{**case, "exp_alerts": []} for case in quiet["alert_rule_test"]]
        replayed.append({**quiet, "input_series": placed(quiet, env.name) + placed(firing, other.name), "alert_rule_test": silent})
    return replayed


def _replay(tree: Path, tmp_path: Path, rules: dict[str, dict[str, Any]], env, other) -> list:
    folder = tmp_path / "rules"
    folder.mkdir()
    for name, document in rules.items():
        (folder / name).write_text(yaml.safe_dump(_plain_rule_file(document)))
    source = _load(tree / "prometheus/tests/alerts.test.yml")
    test_file = tmp_path / "tests" / "distributed.test.yml"
    test_file.parent.mkdir()
    test_file.write_text(yaml.safe_dump({
        "rule_files": [f"../rules/{name}" for name in sorted(rules)],
        "evaluation_interval": source["evaluation_interval"],
        "tests": _replayed_tests(tree, env, other),
    }, sort_keys=False))
    return toolchain.run_rule_tests(test_file)


def _envs(stack):
    return next(e for e in stack.environments if e.name == "production"), next(e for e in stack.environments if e.name == "staging")


@pytest.mark.slow
def test_alerts_fire_only_on_their_own_environment(stack, tree, tmp_path):
    production, staging = _envs(stack)
    rules = {p.name: _load(p) for p in sorted((tree / "thanos/rules/production").glob("*.yml"))}
    pairs = [t for t in _load(tree / "prometheus/tests/alerts.test.yml")["tests"] if t["name"].endswith((" fires", " stays quiet"))]
    assert len(_replayed_tests(tree, production, staging)) == len(pairs)  # every firing/quiet pair (extra quiet cases aside)
    assert _replay(tree, tmp_path, rules, production, staging) == []


@pytest.mark.slow
def test_the_replay_catches_unscoped_rules(stack, tree, tmp_path):
    """Control: the same files with the original, unscoped expressions fail the
    replay, so it is the scoping that keeps the environments apart."""
    production, staging = _envs(stack)
    rules = {}
    for path in sorted((tree / "thanos/rules/production").glob("*.yml")):
        document = _load(path)
        original = _load(tree / "prometheus/rules" / path.name)
        for group, plain in zip(document["groups"], original["groups"]):
            for rule, plain_rule in zip(group["rules"], plain["rules"]):
                rule["expr"] = plain_rule["expr"]
        rules[path.name] = document
    findings = _replay(tree, tmp_path, rules, production, staging)
    failed = {name for name in (t["name"] for t in _replayed_tests(tree, production, staging)) if any(name in f.message for f in findings)}
    assert len(failed) >= 3, findings  # several alerts mix environments when unscoped


def test_the_cli_reports_an_unknown_group_in_one_line(tmp_path):
    """A mistake only a compiler can see still gives one line and exit code 2."""
    import subprocess
    import sys

    (tmp_path / "thanos_defs.py").write_text(
        "from definitions import stack as base\n"
        "from sergas_observability.model import Stack\n"
        "from sergas_observability.model.platforms import ThanosSettings\n"
        "fields = {name: getattr(base, name) for name in type(base).model_fields}\n"
        "stack = Stack(**{**fields, 'thanos': ThanosSettings(partial_response={'sergas-alertz': 'warn'})})\n"
    )
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, "-m", "sergas_observability.cli", "generate", "--definitions", "thanos_defs", "--out", str(tmp_path / "out")],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Thanos" in lines[0] and "partial_response" in lines[0] and "sergas-alertz" in lines[0] and "did you mean 'sergas-alerts'" in lines[0]
    assert not (tmp_path / "out").exists()
