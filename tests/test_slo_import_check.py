"""Everything `sergas-obs import` prints generates and passes `sergas-obs check`.

Each fixture of ours (tests/fixtures/slo) is imported with the CLI, the
printed Python is pasted unchanged into a definitions package beside a
minimal Stack that declares the metrics, and the real `generate` and `check`
(promtool, amtool, every generated SLO test) run on it. The same SLO written
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures" / "slo"
# One project per group: a group's SLOs are distinct (the same SLO in another format goes to another group).
GROUPS = {
    "formats": [("sloth", "sloth-checkout"), ("openslo", "openslo-v1"), ("sloth", "sloth-shapes"), ("openslo", "openslo-list")],
    "openslo-calendar": [("openslo", "openslo-calendar")],
    "sloth-crd": [("sloth", "sloth-k8s")],
    "openslo-v1alpha": [("openslo", "openslo-v1alpha")],
    "pyrra": [("pyrra", "pyrra")],
}

STACK = '''
from sergas_observability.model import BlackboxProbe, Environment, Label, Metric, ScrapeJob, Severity, SlackReceiver, Stack
{imports}

RESULT = "result"  # free text: the specs name values of their own
stack = Stack(
    name="imported",
    environments=(Environment(name="production", external_labels={{"env": "production"}}),),
    metrics=(
        Metric(name="shop_orders_total", kind="counter", help="Orders.", labels=(RESULT, "route")),
        Metric(name="shop_payments_total", kind="counter", help="Payments.", labels=(RESULT,)),
        Metric(name="shop_search_queries_total", kind="counter", help="Queries.", labels=(RESULT,)),
        Metric(name="shop_request_duration_seconds", kind="histogram", unit="seconds", help="Latency.",
               labels=(Label(name="route", values=("/checkout", "/cart")),), buckets=(0.1, 0.25, 0.5, 1.0)),
        Metric(name="probe_success", kind="gauge", help="Probe succeeded (1) or failed (0).", exporter="blackbox_exporter"),
    ),
    scrape_jobs=tuple(ScrapeJob(name=job, targets={{"production": (f"127.0.0.1:{{8000 + i}}",)}})
                      for i, job in enumerate(("checkout", "search", "shop"))),
    # The probes the 0/1 gauge SLIs read, scraped every minute (the importers' interval).
    probes=tuple(BlackboxProbe(name=job, module="http_2xx", interval="1m", targets={{"production": ("https://127.0.0.1/health",)}},
                               exporter_address={{"production": "127.0.0.1:9115"}}) for job in ("blackbox", "storefront")),
    receivers=(SlackReceiver(name="slack", api_url_file="/run/secrets/slack", channel="#alerts"),),
    severities=(Severity(name="P0", description="Pages.", receivers=("slack",)),
                Severity(name="P1", description="Tickets.", receivers=("slack",))),
    default_receiver="slack",
    slo_page_severity="P0",
    slo_ticket_severity="P1",
    slos={slos},
)
'''


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sergas_observability.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=900)


def _imported(kind: str, name: str, cwd: Path) -> str:
    """What the import prints (a refusal in the file is fine: what converts is what must work)."""
    proc = _cli("import", kind, str(FIXTURES / f"{name}.yml"), cwd=cwd)
    assert proc.stdout.startswith('"""SLOs imported from'), proc.stderr
    return proc.stdout


@pytest.mark.slow
@pytest.mark.parametrize("group", list(GROUPS))
def test_every_imported_fixture_generates_and_passes_check(group, tmp_path):
    package = tmp_path / "imported"
    package.mkdir()
    modules, printed = [], 0
    for kind, name in GROUPS[group]:
        module = name.replace("-", "_")
        text = _imported(kind, name, tmp_path)
        (package / f"{module}.py").write_text(text)
        modules.append(module)
        printed += text.count("    SLO(")
    imports = "\n".join(f"from .{m} import SLOS as {m.upper()}" for m in modules)
    (package / "__init__.py").write_text(STACK.format(imports=imports, slos=" + ".join(m.upper() for m in modules)))
    generate = _cli("generate", "--definitions", "imported", "--out", "out", cwd=tmp_path)
    assert generate.returncode == 0, generate.stdout + generate.stderr
    check = _cli("check", "--definitions", "imported", "--out", "out", cwd=tmp_path)
    assert check.returncode == 0, check.stdout[-3000:] + check.stderr[-3000:]
    assert "all generated files are valid" in check.stdout
    rules = [path for path in (tmp_path / "out/prometheus/rules").glob("slo-*.yml") if not path.name.endswith(".calendar.yml")]
    assert len(rules) == printed  # every converted SLO has its rules, and was checked
