"""The generated metrics module is a distribution of its own.

One `pip install` of generated/python gives an application its `<stack>_metrics`
with prometheus_client as the only dependency: no pydantic, jinja2, click,
grafanalib, promql-parser, nor the library itself. The library's wheel carries
no stack's generated code. Checked with real pip installs into a fresh
virtual environment, of Sergas's module and of another stack's.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
import tomllib
import zipfile
from pathlib import Path

import pytest

from sergas_observability.compile import instrumentation
from sergas_observability.output import read_manifest
from instrumented.scraping import samples, value

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ROOT / "generated"
CLI = Path(sys.executable).with_name("sergas-obs")
PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check"]

# What an application must never load through its metrics module.
GENERATOR = ("pydantic", "jinja2", "click", "grafanalib", "promql_parser", "yaml", "sergas_observability")

# Another service adopting the library: its stack name has a dash.
BILLING = '''
from sergas_observability.model import *

LABELS = ("method", "route", "status")
stack = Stack(
    name="billing-api",
    environments=(Environment(name="production", external_labels={"env": "production"}),),
    metrics=(
        Metric(name="billing_invoices_created_total", kind="counter", help="Invoices created.",
               labels=(Label(name="plan", values=("free", "pro")),)),
        Metric(name="http_requests_total", kind="counter", help="HTTP requests.", labels=LABELS),
        Metric(name="http_request_duration_seconds", kind="histogram", help="HTTP request time.", labels=LABELS,
               buckets=(0.1, 1.0)),
    ),
    scrape_jobs=(ScrapeJob(name="billing-api", targets={"production": ("billing:9090",)}),),
    receivers=(SlackReceiver(name="slack", api_url_file="/run/secrets/slack", channel="#billing"),),
    severities=(Severity(name="P0", description="page", receivers=("slack",)),),
    default_receiver="slack",
)
'''


def owned_copy(out: Path, target: Path) -> Path:
    """The files generate owns under out/python (what the manifest lists), copied to target:
    a pip install of the copy never sees build/ or *.egg-info left by an earlier one."""
    owned = sorted(path for path in read_manifest(out) or () if path.startswith("python/"))
    assert owned, f"{out} holds no generated python/"
    for path in owned:
        destination = target / path.removeprefix("python/")
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out / path, destination)
    return target


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@pytest.fixture(scope="module")
def billing_out(tmp_path_factory) -> Path:
    """generate --output python for the billing-api stack, as its project would run it."""
    project = tmp_path_factory.mktemp("billing")
    (project / "billing_defs.py").write_text(textwrap.dedent(BILLING))
    proc = subprocess.run([str(CLI), "generate", "--definitions", "billing_defs", "--out", "gen", "--output", "python"],
                          cwd=project, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return project / "gen"


@pytest.fixture(scope="module")
def fresh(tmp_path_factory, billing_out) -> Path:
    """A virtual environment with nothing but both modules, each installed from its directory by pip."""
    base = tmp_path_factory.mktemp("fresh")
    env = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True, timeout=120)
    sources = [owned_copy(GENERATED, base / "sergas"), owned_copy(billing_out, base / "billing")]
    proc = subprocess.run([*PIP, "--python", str(env / "bin" / "python"), "install", "--quiet", *map(str, sources)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return env


def run_in(env: Path, code: str) -> str:
    """Run `code` isolated (-I: no user site, no PYTHON* variables, not the working directory) in env."""
    proc = subprocess.run([str(env / "bin" / "python"), "-I", "-c", textwrap.dedent(code)],
                          capture_output=True, text=True, cwd="/", timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


# -- what generate writes -----------------------------------------------------------------


@pytest.mark.parametrize("which", ["sergas", "billing-api"])
def test_pyproject_makes_the_module_its_own_distribution(which, billing_out):
    out = GENERATED if which == "sergas" else billing_out
    module = {"sergas": "sergas_metrics", "billing-api": "billing_api_metrics"}[which]
    project = tomllib.loads((out / "python" / "pyproject.toml").read_text())
    assert project["project"]["name"] == f"{which}-metrics"
    assert project["project"]["version"] == "0"
    assert project["project"]["dependencies"] == ["prometheus_client>=0.20"]
    assert project["build-system"]["build-backend"] == "setuptools.build_meta"
    # every package of the module is listed (a subpackage left out would be missing once installed)
    packages = {p.parent.relative_to(out / "python").as_posix().replace("/", ".") for p in (out / "python" / module).rglob("__init__.py")}
    assert set(project["tool"]["setuptools"]["packages"]) == packages == {module, f"{module}._runtime"}
    assert project["tool"]["setuptools"]["package-data"] == {module: ["py.typed"]}


def test_another_stacks_module_is_named_after_its_stack_and_never_after_sergas(billing_out):
    files = sorted((billing_out / "python").rglob("*"))
    assert {p.relative_to(billing_out).as_posix() for p in files if p.is_file()} == {
        "python/pyproject.toml", "python/billing_api_metrics/__init__.py", "python/billing_api_metrics/py.typed",
        *(f"python/billing_api_metrics/_runtime/{name}" for name in instrumentation.RUNTIME_FILES),
    }
    for path in files:
        if path.is_file():
            text = path.read_text()
            assert "sergas_metrics" not in text and "sergas_instrumentation" not in text, path
    assert 'RUNTIME_PREFIX = "billing_api_instrumentation_"' in (billing_out / "python/billing_api_metrics/__init__.py").read_text()


def test_install_leftovers_in_the_output_are_not_drift_and_are_kept(billing_out, tmp_path):
    """`pip install generated/python` builds in the tree (build/, *.egg-info): generate owns neither."""
    out = tmp_path / "gen"
    shutil.copytree(billing_out, out)
    proc = subprocess.run([*PIP, "install", "--quiet", "--no-deps", "--target", str(tmp_path / "target"), str(out / "python")],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    leftovers = {p.name for p in (out / "python").iterdir()} - {"pyproject.toml", "billing_api_metrics"}
    assert leftovers, "pip left nothing in the tree: this test checks nothing"
    project = billing_out.parent
    for args in (["--check"], []):
        proc = subprocess.run([str(CLI), "generate", "--definitions", "billing_defs", "--out", str(out), "--output", "python", *args],
                              cwd=project, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    assert leftovers <= {p.name for p in (out / "python").iterdir()}


# -- installed with pip ----------------------------------------------------------------------


def test_one_pip_install_brings_the_module_and_prometheus_client_only(fresh):
    found = json.loads(run_in(fresh, """
        import importlib.metadata as m, json
        print(json.dumps({"dists": [d.metadata["Name"] for d in m.distributions()],
                          "requires": {n: m.requires(n) for n in ("sergas-metrics", "billing-api-metrics")}}))
    """))
    assert sorted(normalised(name) for name in found["dists"]) == ["billing-api-metrics", "prometheus-client", "sergas-metrics"]
    assert found["requires"] == {"sergas-metrics": ["prometheus_client>=0.20"], "billing-api-metrics": ["prometheus_client>=0.20"]}
    site = next((fresh / "lib").glob("python*/site-packages"))
    for module in ("sergas_metrics", "billing_api_metrics"):
        assert (site / module / "py.typed").is_file()
        assert sorted(p.name for p in (site / module / "_runtime").glob("*.py")) == sorted(instrumentation.RUNTIME_FILES)


@pytest.mark.parametrize("module", ["sergas_metrics", "billing_api_metrics"])
def test_the_installed_module_loads_nothing_of_the_generator(fresh, module):
    loaded = json.loads(run_in(fresh, f"""
        import importlib.util, json, sys
        import {module}
        generator = {GENERATOR!r}
        print(json.dumps({{
            "loaded": sorted(m for m in sys.modules if m.split(".")[0] in generator),
            "importable": sorted(m for m in generator if importlib.util.find_spec(m) is not None),
            "site": [p for p in sys.path if "site-packages" in p],
        }}))
    """))
    assert loaded["loaded"] == []
    assert loaded["importable"] == []  # not merely unused: absent
    assert len(loaded["site"]) == 1 and loaded["site"][0].startswith(str(fresh))


def test_another_stacks_installed_module_records_and_serves_under_its_own_names(fresh):
    exposition = run_in(fresh, """
        import asyncio
        import billing_api_metrics as billing

        billing.billing_invoices_created_total.inc(plan="pro")
        billing.billing_invoices_created_total.inc(plan="enterprise")
        billing.billing_invoices_created_total.inc(-1, plan="free")
        assert billing._runtime.__name__ == "billing_api_metrics._runtime.instruments"

        sent = []

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "method": "GET", "path": "/metrics", "root_path": "", "headers": [], "query_string": b""}
        asyncio.run(billing.metrics_app()(scope, receive, send))
        assert sent[0]["status"] == 200
        print(sent[1]["body"].decode())
    """)
    found = samples(exposition)
    assert value(found, "billing_invoices_created_total", plan="pro") == 1
    assert value(found, "billing_invoices_created_total", plan="__overflow__") == 1
    assert value(found, "billing_api_instrumentation_label_overflow_total", metric="billing_invoices_created_total", label="plan") == 1
    assert value(found, "billing_api_instrumentation_errors_total", metric="billing_invoices_created_total") == 1
    assert not any(name.startswith(("sergas", "instrumentation_")) for name, _ in found)


# -- the library and this repository's environment ------------------------------------------


def test_the_library_wheel_carries_no_generated_code(tmp_path):
    source = tmp_path / "library"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copyfile(ROOT / name, source / name)
    shutil.copytree(ROOT / "sergas_observability", source / "sergas_observability", ignore=shutil.ignore_patterns("__pycache__"))
    (source / "generated").symlink_to(GENERATED)  # there, as in the repository: still not packaged
    proc = subprocess.run([*PIP, "wheel", "--quiet", "--no-deps", "--wheel-dir", str(tmp_path / "wheels"), str(source)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (wheel,) = (tmp_path / "wheels").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names} == {"sergas_observability", "sergas_observability-0.1.0.dist-info"}
    assert "sergas_observability/templates/metrics_module.py.j2" in names
    assert "sergas_observability/templates/metrics_pyproject.toml.j2" in names
    assert "sergas_observability/instrumentation/instruments.py" in names  # what generate copies from


def test_this_environment_imports_the_generated_tree_itself():
    """`make venv` installs generated/python editable: the tests never run a stale copy of the module."""
    import importlib.metadata

    import sergas_metrics

    assert importlib.metadata.version("sergas-metrics") == "0"
    assert Path(sergas_metrics.__file__).resolve() == GENERATED / "python" / "sergas_metrics" / "__init__.py", (
        f"sergas_metrics comes from {sergas_metrics.__file__}: run `make venv`"
    )
