"""Build a minimal project holding N SLOs, the way a user would.

The SLOs come from the Sloth scale spec (1,000 SLOs over 100 services
`svc-000`..`svc-099`, in ../shared/anchors/specs): `sergas-obs import sloth`
prints them as Python into `<dir>/thousand/slos.py`, and
`<dir>/thousand/__init__.py` puts them in the smallest Stack that validates
(one environment, the one metric, a scrape job per service, one receiver, the
two severities the import names). A `pyproject.toml` with a [tool.sergas-obs]
table makes `<dir>` the project root, so a `<dir>` inside another project
never picks up that project's table. `--slos N` keeps the first N SLOs of the
spec (in document order) before importing, for small runs.

    .venv/bin/python benchmarks/scale_project.py DIR [--slos N] [--spec PATH]
    cd DIR && sergas-obs generate --definitions thousand --out out

bench_cli.py builds its project with `build()`.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT.parent / "shared/anchors/specs/1000-slos-100-services.yml"
PACKAGE = "thousand"
SERVICES = 100

INIT = '''"""{count:,} SLOs over {services} services (the Sloth scale spec), in a minimal Stack."""
from sergas_observability.model import Environment, Metric, ScrapeJob, Severity, Stack, WebhookReceiver
from .slos import SLOS

stack = Stack(
    name="scale",
    environments=(Environment(name="production", external_labels={{"env": "production"}}),),
    metrics=(Metric(name="http_requests_total", kind="counter", help="Requests.", labels=("handler", "code")),),
    scrape_jobs=tuple(ScrapeJob(name=f"svc-{{i:03d}}", targets={{"production": (f"127.0.0.1:{{8000 + i}}",)}}) for i in range({services})),
    receivers=(WebhookReceiver(name="oncall", url="http://127.0.0.1:9/hook"),),
    severities=(Severity(name="critical", description="Pages.", receivers=("oncall",)),
                Severity(name="warning", description="Tickets.", receivers=("oncall",))),
    default_receiver="oncall",
    slos=SLOS,
)
'''

PYPROJECT = f'''[tool.sergas-obs]
definitions = "{PACKAGE}"
out = "out"
'''


def cli() -> str:
    """The sergas-obs of this interpreter's environment, else the one on PATH."""
    beside = Path(sys.executable).parent / "sergas-obs"
    found = str(beside) if beside.is_file() else shutil.which("sergas-obs")
    if found is None:
        raise SystemExit("error: sergas-obs not found (install the package: make venv)")
    return found


def first_slos(spec: Path, limit: int | None) -> tuple[list[dict], int, int]:
    """The spec's YAML documents cut to their first `limit` SLOs (all without one), how many SLOs they keep, how many the spec holds."""
    kept, count, total = [], 0, 0
    for document in yaml.safe_load_all(spec.read_text(encoding="utf-8")):
        slos = (document or {}).get("slos") or []
        total += len(slos)
        taken = slos if limit is None else slos[: max(limit - count, 0)]
        if taken:
            kept.append({**document, "slos": taken})
            count += len(taken)
    return kept, count, total


def spec_to_import(spec: Path, limit: int | None, directory: Path) -> tuple[Path, int]:
    """The spec file to import (the original when nothing is cut) and how many SLOs it holds."""
    documents, count, total = first_slos(spec, limit)
    if count == total:
        return spec, count
    cut = directory / f"sloth-first-{count}.yml"
    cut.write_text(yaml.safe_dump_all(documents, sort_keys=False, explicit_start=True), encoding="utf-8")
    return cut, count


def build(directory: Path, spec: Path = SPEC, slos: int | None = None) -> int:
    """Write the project into `directory` (created, or empty); return its SLO count."""
    if directory.exists() and any(directory.iterdir()):
        raise SystemExit(f"error: {directory} is not empty")
    package = directory / PACKAGE
    package.mkdir(parents=True)
    source, count = spec_to_import(spec.resolve(), slos, directory)
    command = [cli(), "import", "sloth", str(source), "--page-severity", "critical", "--ticket-severity", "warning",
               "--runbook-base", "https://runbooks.example.com/slo"]  # a real base: runbooks.invalid links are warned about
    with open(package / "slos.py", "w", encoding="utf-8") as out:
        subprocess.run(command, cwd=directory, stdout=out, check=True)
    (package / "__init__.py").write_text(INIT.format(count=count, services=SERVICES), encoding="utf-8")
    (directory / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    return count


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path, help="where to build the project (created; must be empty)")
    parser.add_argument("--slos", type=int, default=None, metavar="N", help="keep only the first N SLOs of the spec")
    parser.add_argument("--spec", type=Path, default=SPEC, help=f"the Sloth spec (default: {SPEC})")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.spec.is_file():
        print(f"skipped: {args.spec} not found (the benchmark reads ../shared)")
        return 0
    count = build(args.directory, args.spec, args.slos)
    print(f"{args.directory / PACKAGE}: {count} SLOs from {args.spec.name}; "
          f"run: cd {args.directory} && sergas-obs generate --definitions {PACKAGE} --out out")
    return 0


if __name__ == "__main__":
    sys.exit(main())
