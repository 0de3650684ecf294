"""Detection and clear times of our SLO alerts, measured the way the anchors were.

For the anchors' availability SLO (5xx over all requests, 30 d) at 99.9 % and
99.5 %: three days of clean 1-minute history, then an incident, evaluated
with `promtool test rules` on the rules our compiler writes. Every minute of
the interesting span is checked, so the first and last firing minute of each
alert are read from promtool's own verdicts (a check expecting no alert fails
exactly where one fires). Compare with ../shared/anchors/README.md (Sloth,
Pyrra, measured with the same method).

    .venv/bin/python benchmarks/bench_slo_detection.py
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sergas_observability.compile.slo import Links, compile_slos  # noqa: E402
from sergas_observability.compile.slo_tests import Segment, _counter_values  # noqa: E402
from sergas_observability.model import SLO, RatioSLI  # noqa: E402

HISTORY = 3 * 24 * 60
TRAFFIC = 100.0
QUIET = 0.5  # events a minute of a quiet service
_FIRING = re.compile(r"alertname: (\w+), time: (\S+?),")


def _minutes(text: str) -> int:
    total, number = 0, ""
    for char in text:
        if char.isdigit():
            number += char
            continue
        total += int(number) * {"d": 1440, "h": 60, "m": 1, "s": 0}[char]
        number = ""
    return total


def firing_minutes(slo: SLO, segments: list[Segment], span: range) -> dict[str, list[int]]:
    """{alert: [minutes (from the incident) at which it fired]} over `span`."""
    (rules,) = compile_slos([slo], {}, Links("http://grafana.invalid", "bench")).values()
    names = [slo.tier_alert_name(t) for t in slo.tiers]
    series = [
        ('http_requests_total{code="200"}', 1, 0),
        ('http_requests_total{code="500"}', 0, 1),
    ]
    test = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": [{"series": s, "values": _counter_values(segments, g, b)} for s, g, b in series],
            "alert_rule_test": [
                {"eval_time": f"{HISTORY + m}m", "alertname": name, "exp_alerts": []} for m in span for name in names
            ],
        }],
    }
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "rules.yml").write_text(yaml.safe_dump(rules))
        (Path(tmp) / "t.yml").write_text(yaml.safe_dump(test))
        proc = subprocess.run(["promtool", "test", "rules", "t.yml"], cwd=tmp, capture_output=True, text=True)
        out = proc.stdout + proc.stderr
    fired: dict[str, list[int]] = {name: [] for name in names}
    for name, at in _FIRING.findall(out):
        fired[name].append(_minutes(at) - HISTORY)
    return fired


def first(fired: dict[str, list[int]], pages: list[str]) -> str:
    times = [min(fired[p]) for p in pages if fired[p]]
    return f"+{min(times)} min" if times else "never"


def main() -> None:
    print("availability SLO, 30 d, 1-minute samples after 3 d of clean history (promtool test rules)")
    for objective in (99.9, 99.5):
        slo = SLO(service="myservice", name="requests-availability", objective=objective, runbook_url="https://r.invalid",
                  sli=RatioSLI(bad='http_requests_total{code=~"5.."}', total="http_requests_total"))
        pages = [slo.tier_alert_name(t) for t in slo.tiers if t.action == "page"]
        clean = Segment(HISTORY, TRAFFIC, 0.0)
        outage = firing_minutes(slo, [clean, Segment(30, TRAFFIC, 1.0)], range(0, 31))
        budget = 1 - objective / 100
        tenfold = firing_minutes(slo, [clean, Segment(500, TRAFFIC, 10 * budget)], range(200, 500))
        after = firing_minutes(slo, [clean, Segment(180, TRAFFIC, 1.0), Segment(60, TRAFFIC, 0.0)], range(180, 241))
        last = max((max(after[p]) for p in pages if after[p]), default=179)
        tickets = [slo.tier_alert_name(t) for t in slo.tiers if t.action == "ticket"]
        last_ticket = max((max(after[t]) for t in tickets if after[t]), default=179)
        print(f"{objective} %: total outage, first page {first(outage, pages)}, first ticket {first(outage, tickets)};"
              f" 10x burn, first page {first(tenfold, pages)} (first ticket {first(tenfold, tickets)}); after a 3 h outage"
              f" every page has resolved {last + 1 - 180} min after recovery, every ticket {last_ticket + 1 - 180} min")
        quiet = Segment(HISTORY, QUIET, 0.0)
        blip = firing_minutes(slo, [quiet, Segment(6, QUIET, 1.0), Segment(120, QUIET, 0.0)], range(0, 126))
        down = firing_minutes(slo, [quiet, Segment(60, QUIET, 1.0)], range(0, 61))
        print(f"    {QUIET:g} events a minute: 3 failed events page for {sum(len(blip[p]) for p in pages)} min;"
              f" a total outage pages at {first(down, pages)}")
        for name in pages + tickets:
            print(f"    {name}: outage +{min(outage[name]) if outage[name] else '-'} min,"
                  f" 10x +{min(tenfold[name]) if tenfold[name] else '-'} min")


if __name__ == "__main__":
    main()
