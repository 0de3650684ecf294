"""Chosen outputs: only they are compiled and written, `check` looks only at them,
outputs no longer chosen disappear; and the file notice names the command that wrote it.
"""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import pytest
import yaml
from test_config import QUICK, RICH, one_error, project, run, write  # noqa: F401 - project is a fixture

from sergas_observability.compile import OUTPUTS, PACKAGERS, PRODUCERS, REQUIRES, OutputError, compile_stack, produce
from sergas_observability.output import HEADER, MANIFEST, command_header, read_manifest, read_tree

ALL = tuple(OUTPUTS)


def tops(out: Path) -> set[str]:
    """The outputs whose files generate owns in `out`, by their top-level directory."""
    return {path.split("/", 1)[0] for path in read_manifest(out) or ()}


def on_disk(out: Path) -> set[str]:
    return {p.name for p in out.iterdir() if p.name != MANIFEST}


def with_requirements(name: str) -> list[str]:
    return [name, *REQUIRES.get(name, ())]


# -- the pipeline (Sergas's own stack) ----------------------------------------------


def test_the_default_is_every_output(stack):
    everything = compile_stack(stack)
    assert compile_stack(stack, ALL) == everything
    assert {path.split("/", 1)[0] for path in everything} == set(ALL)


def test_every_compiler_writes_only_under_its_outputs(stack):
    produced = produce(stack)
    for compiler in PRODUCERS + PACKAGERS:
        module = importlib.import_module(f"sergas_observability.compile.{compiler}")
        documents = module.package(stack, produced) if compiler in PACKAGERS else module.compile(stack)
        mine = {name for name, compilers in OUTPUTS.items() if compiler in compilers}
        assert documents and {path.split("/", 1)[0] for path in documents} <= mine, compiler


def test_the_outputs_partition_the_tree(stack):
    """Each output alone yields exactly its part of the whole tree, byte for byte:
    a packager chosen alone still packages what the producers produced."""
    everything = compile_stack(stack)
    for name in ALL:
        alone = compile_stack(stack, with_requirements(name))
        part = {path: doc for path, doc in alone.items() if path.startswith(f"{name}/")}
        assert part == {path: doc for path, doc in everything.items() if path.startswith(f"{name}/")}, name
    kubernetes = compile_stack(stack, ["kubernetes"])
    assert {path.split("/", 1)[0] for path in kubernetes} == {"kubernetes"}
    assert any("/prometheusrule-" in path for path in kubernetes)  # rule files of prometheus' producers
    assert any("/configmap-grafana-dashboard-" in path for path in kubernetes)


def test_an_unknown_or_incomplete_choice_is_refused(stack):
    with pytest.raises(OutputError, match=r"unknown output 'grafna' \(did you mean 'grafana'\?\)"):
        compile_stack(stack, ["grafna"])
    with pytest.raises(OutputError, match="compose mounts the files of prometheus, alertmanager, grafana and exporters: choose grafana too"):
        compile_stack(stack, ["compose", "prometheus", "alertmanager", "exporters"])


# -- through the CLI ------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_a_chosen_output_writes_only_its_tree(project, name):
    write(project / "definitions.py", RICH)
    result = run("generate", *(f"--output={n}" for n in with_requirements(name)))
    assert result.exit_code == 0, result.output
    out = project / "generated"
    assert tops(out) == on_disk(out) == set(with_requirements(name))


def test_outputs_from_the_config(project):
    write(project / "definitions.py", RICH)
    write(project / "pyproject.toml", '[tool.sergas-obs]\noutputs = ["thanos", "python"]\n')
    result = run("generate")
    assert result.exit_code == 0, result.output
    assert tops(project / "generated") == on_disk(project / "generated") == {"thanos", "python"}  # no mimir
    assert run("generate", "--check").exit_code == 0


def test_the_default_is_every_output_the_stack_uses(project):
    """With a central store every output has files; without one, the central view's
    rule files are left out unless chosen (a Thanos Ruler may query sidecars)."""
    write(project / "definitions.py", RICH)
    assert run("generate").exit_code == 0
    assert tops(project / "generated") == set(ALL)
    write(project / "definitions.py", RICH.replace(", central=central)", ")"))
    result = run("generate")
    assert result.exit_code == 0, result.output
    assert tops(project / "generated") == on_disk(project / "generated") == set(ALL) - {"thanos", "mimir", "victoriametrics"}
    assert re.search(r"^  thanos: \d+ removed$", result.output, re.M), result.output  # the earlier files go, said so
    assert run("generate", "--check").exit_code == 0
    result = run("generate", "--output=thanos")
    assert result.exit_code == 0, result.output
    assert tops(project / "generated") == {"thanos"}


def test_an_unknown_output_is_one_line_and_exit_2(project):
    write(project / "definitions.py", RICH)
    known = "known: " + ", ".join(ALL)
    assert one_error(run("generate", "--output", "prometheus", "--output", "grafna")) == (
        f"error: --output: unknown output 'grafna' (did you mean 'grafana'?); {known}"
    )
    assert one_error(run("check", "--output", "k8s")) == f"error: --output: unknown output 'k8s'; {known}"
    write(project / "pyproject.toml", '[tool.sergas-obs]\noutputs = ["prometheus", "alertmanger"]\n')
    assert one_error(run("generate")) == (
        f"error: pyproject.toml: [tool.sergas-obs] key 'outputs': unknown output 'alertmanger' (did you mean 'alertmanager'?); {known}"
    )
    assert not (project / "generated").exists()


def test_compose_needs_the_files_it_mounts(project):
    write(project / "definitions.py", RICH)
    assert one_error(run("generate", "--output", "compose")) == (
        "error: --output: compose mounts the files of prometheus, alertmanager, grafana and exporters: "
        "choose prometheus, alertmanager, grafana, exporters too"
    )


def test_outputs_no_longer_chosen_are_removed(project):
    write(project / "definitions.py", RICH)
    out = project / "generated"
    assert run("generate").exit_code == 0
    assert tops(out) == set(ALL)
    (out / "prometheus" / "NOTES.md").write_text("kept\n")  # not generate's: survives
    result = run("generate", "--output", "grafana", "--output", "alertmanager")
    assert result.exit_code == 0, result.output
    assert tops(out) == {"grafana", "alertmanager"}
    assert on_disk(out) == {"grafana", "alertmanager", "prometheus"}
    assert [p.name for p in (out / "prometheus").rglob("*")] == ["NOTES.md"]
    # the same choice is up to date; all outputs would add the removed ones back
    assert run("generate", "--check", "--output", "grafana", "--output", "alertmanager").exit_code == 0
    stale = run("generate", "--check")
    assert stale.exit_code == 1 and "+++ b/prometheus/production/prometheus.yml" in stale.stdout
    assert "generated/ is out of date: run `sergas-obs generate` and commit the result." in stale.stderr
    # and a config choice does the same
    write(project / "pyproject.toml", '[tool.sergas-obs]\noutputs = ["python"]\n')
    assert run("generate").exit_code == 0
    assert tops(out) == {"python"}


def test_check_validates_only_the_chosen_outputs(project):
    write(project / "definitions.py", QUICK)
    out = project / "generated"
    assert run("generate", "--output", "prometheus", "--output", "alertmanager").exit_code == 0
    both = run("check", "--output", "prometheus", "--output", "alertmanager")
    assert both.exit_code == 0, both.output
    assert both.stdout == "promtool and amtool: all generated files are valid.\n"

    config = out / "alertmanager" / "production" / "alertmanager.yml"
    config.write_text(config.read_text().replace("receivers:", "receivers_typo:", 1))
    broken = run("check", "--output", "prometheus", "--output", "alertmanager")
    assert broken.exit_code == 1 and "alertmanager.yml" in broken.stdout
    only_prometheus = run("check", "--output", "prometheus")
    assert only_prometheus.exit_code == 0, only_prometheus.output
    assert only_prometheus.stdout == "promtool: all generated files are valid.\n"

    nothing = run("check", "--output", "python")
    assert nothing.exit_code == 0
    assert nothing.stdout.startswith("nothing for promtool, amtool or vmalert to check")


# -- the notice -------------------------------------------------------------------------


def test_the_notice_names_the_command_that_wrote_the_file(project):
    write(project / "monitoring" / "__init__.py", "")
    write(project / "monitoring" / "defs.py", RICH)
    write(project / "pyproject.toml", '[tool.sergas-obs]\ndefinitions = "monitoring.defs"\nout = "obs"\n')
    assert run("generate").exit_code == 0
    notice = command_header("monitoring.defs")
    assert notice == "Generated by sergas-obs generate --definitions monitoring.defs - do not edit; run it again to update."
    tree = read_tree(project / "obs")
    assert {path.split("/", 1)[0] for path in tree} == set(ALL)
    for rel, text in tree.items():
        assert HEADER not in text and "make generate" not in text and "definitions/" not in text, rel
        if rel.endswith((".yml", ".yaml", ".default", ".py")):
            assert text.splitlines()[0] == f"# {notice}", rel
        if rel.endswith((".yml", ".yaml")):
            yaml.safe_load(text)  # still valid after the notice was replaced
        if rel.endswith(".sh"):
            assert text.splitlines()[1] == f"# {notice}", rel
        if rel.startswith("grafana/dashboards/"):
            assert json.loads(text)["description"].endswith(notice), rel
    for rel, text in tree.items():  # the dashboards inside ConfigMaps carry it too
        if "/configmap-grafana-dashboard-" in rel:
            (dashboard,) = yaml.safe_load(text)["data"].values()
            assert json.loads(dashboard)["description"].endswith(notice), rel
    # a flag names its module the same way, and the drift check agrees
    write(project / "other.py", RICH)
    assert run("generate", "--definitions", "other", "--output", "prometheus").exit_code == 0
    first = (project / "obs" / "prometheus/production/prometheus.yml").read_text().splitlines()[0]
    assert first == f"# {command_header('other')}"
    assert run("generate", "--check", "--definitions", "other", "--output", "prometheus").exit_code == 0
    assert run("generate", "--check", "--output", "prometheus").exit_code == 1  # monitoring.defs: another notice


def test_a_rendered_document_is_written_as_it_is_with_the_notice_of_the_command_run():
    """generate writes the dashboards its validation pass rendered (compile.adopt): text, not data."""
    from sergas_observability.output import HEADER, Rendered, render

    document = {"title": "t", "description": HEADER}
    text = render("grafana/dashboards/t.json", document)
    assert render("grafana/dashboards/t.json", Rendered(text)) == text  # not encoded again as a JSON string
    ours = "Generated by sergas-obs generate --definitions mine - do not edit"
    assert render("grafana/dashboards/t.json", Rendered(text), ours) == render("grafana/dashboards/t.json", document, ours)
    yml = render("grafana/provisioning/dashboards/x.yml", {"a": 1})
    assert render("grafana/provisioning/dashboards/x.yml", Rendered(yml)) == yml  # no second notice line


def test_a_packager_compiles_only_the_outputs_it_reads(stack):
    """The catalog reads rule files, their tests and the routes: no dashboard is built for it."""
    from sergas_observability.compile import READS

    for packager, reads in READS.items():
        output = next(name for name, compilers in OUTPUTS.items() if packager in compilers)
        fresh = type(stack)(**dict(stack))  # its own compile cache
        compile_stack(fresh, with_requirements(output))
        wanted = {c for name in (*reads, *with_requirements(output)) for c in OUTPUTS[name] if c in PRODUCERS}
        assert set(fresh._compiled) & set(PRODUCERS) == wanted, packager
    assert "grafana" not in {c for name in READS["catalog"] for c in OUTPUTS[name]}
