"""What our SLO rules cost a real Prometheus, side by side with Sloth's, for the same SLOs.

Imports the first N services (default 10 = 100 SLOs) of the 1,000-SLO Sloth
spec in ../shared/anchors/specs, compiles them with our SLO compiler into one
rule file, and hands it with Sloth's output for the same SLOs to
../shared/bench/rule_eval_cost.py (`run --vs`), which backfills realistic
history into a real Prometheus and measures evaluation seconds and CPU per
minute of both, alternating A B A B on the same data. Read that tool's README
for the method; quote the A/B ratios of one invocation.

The tool's history holds the raw series only, so rules that read *recorded*
series over long windows (ours: the 1d/3d burn rates and the 30d budget over
`slo:sli_events:rate5m`; Sloth's 30d ratio over `slo:sli_error:ratio_rate5m`)
would read minutes where production reads days. So first, on a copy of the
data, both rule sets' recorded series that another rule reads over a range
get their history too: those rules (which read only raw series) are
evaluated over the whole history by range queries against a Prometheus
serving it, and imported into the copy (`--no-recorded-history` skips this,
to see how much it flatters).

    python3 ../shared/bench/rule_eval_cost.py data --out /tmp/rec/data-10svc-3d --services 10 --days 3
    .venv/bin/python benchmarks/bench_slo_eval_cost.py --data /tmp/rec/data-10svc-3d --rounds 2 --cycles 6

Needs ../shared (spec, Sloth's output, the tool) and prometheus/promtool on PATH.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

import readme_block  # noqa: E402  (benchmarks/, beside this script)
from sergas_observability.compile.slo import Links, compile_slos  # noqa: E402
from sergas_observability.slo_import import load_sloth  # noqa: E402


def our_rules(services: int) -> tuple[dict, int]:
    spec = (SHARED / "anchors/specs/1000-slos-100-services.yml").read_text()
    wanted = {f"svc-{i:03d}" for i in range(services)}
    slos = [s for s in load_sloth(spec) if s.service in wanted]
    files = compile_slos(slos, {}, Links("http://grafana.invalid", "bench"))
    return {"groups": [group for document in files.values() for group in document["groups"]]}, len(slos)


SLOTH_RULES = SHARED / "anchors/sloth/1000-slos-100-services.rules.yml.gz"
_RECORDED = re.compile(r"[a-zA-Z_]+:[a-zA-Z0-9_:]+")  # recorded names have colons (the convention both tools keep)


def sloth_groups(pattern: str) -> list[dict[str, Any]]:
    """Sloth's groups whose name matches (its file holds several YAML documents)."""
    with gzip.open(SLOTH_RULES, "rt") as handle:
        documents = [d for d in yaml.load_all(handle, Loader=yaml.CSafeLoader) if d]
    return [g for d in documents for g in d["groups"] if re.search(pattern, g["name"])]


def read_over_ranges(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The recording rules whose series another rule reads over a range, and which read raw
    series only (so promtool can backfill them from the raw history alone), with their interval."""
    ranged = {m.group(1) for g in groups for r in g["rules"] for m in re.finditer(r"([a-zA-Z_]+:[a-zA-Z0-9_:]+)\{[^}]*\}\[", r["expr"])}
    found = []
    for group in groups:
        rules = [r for r in group["rules"] if r.get("record") in ranged and not _RECORDED.search(r["expr"])]
        if rules:
            found.append({"name": f"{group['name']}-history", **({"interval": group["interval"]} if "interval" in group else {}), "rules": rules})
    return found


def with_recorded_history(data: Path, rule_sets: dict[str, list[dict[str, Any]]], work: Path) -> Path:
    """A copy of `data` whose TSDB also holds the history of each rule set's ranged recorded series:
    each such rule evaluated over the whole history (a range query at the data's step, against a
    Prometheus serving the raw history), written as OpenMetrics and imported in 18h blocks like the
    raw history (promtool's own `create-blocks-from rules` writes a block per rule and 2 hours:
    thousands, more than a Prometheus can open), then compacted with the raw blocks."""
    sys.path.insert(0, str(SHARED / "bench"))
    import rule_eval_cost  # type: ignore[import-not-found]  # the tool's Prometheus, started and stopped by PID

    spec = json.loads((data / "manifest.json").read_text())["spec"]
    start, end, step = int(spec["start"]), int(spec["end"]), int(spec["step"])
    copy = work / "data-with-recorded-history"
    shutil.copytree(data / "tsdb", copy / "tsdb")
    shutil.copy(data / "manifest.json", copy / "manifest.json")
    serving = work / "serving"
    shutil.copytree(data / "tsdb", serving / "tsdb")
    prometheus = rule_eval_cost.Prometheus(str(serving), str(serving / "tsdb"), None, "1m", "127.0.0.1:9", 60, [])
    prometheus.start()
    try:
        for name, groups in rule_sets.items():
            began = time.monotonic()
            history = [rule for group in read_over_ranges(groups) for rule in group["rules"]]
            families: dict[str, list[str]] = {}
            for rule in history:
                query = urllib.parse.urlencode({"query": rule["expr"], "start": start, "end": end, "step": step})
                answer = json.loads(rule_eval_cost.http_get(f"{prometheus.base}/api/v1/query_range?{query}", timeout=600))
                for series in answer["data"]["result"]:
                    labels = {**series["metric"], **rule.get("labels", {})}
                    text = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
                    families.setdefault(rule["record"], []).extend(f"{rule['record']}{{{text}}} {v} {t}" for t, v in series["values"])
            openmetrics = work / f"{name}.history.om"
            with openmetrics.open("w") as handle:
                for family, lines in families.items():
                    handle.write(f"# TYPE {family} gauge\n" + "\n".join(lines) + "\n")
                handle.write("# EOF\n")
            subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=18h",
                            str(openmetrics), str(copy / "tsdb")], check=True, stdout=subprocess.DEVNULL)
            openmetrics.unlink()
            samples = sum(len(lines) for lines in families.values())
            print(f"{name}: history of {len(history)} recorded-series rules ({samples:,} samples over {(end - start) / 86400:g} d)"
                  f" backfilled in {time.monotonic() - began:.0f} s", flush=True)
    finally:
        prometheus.stop()
        shutil.rmtree(serving, ignore_errors=True)
    compact(copy / "tsdb", work, rule_eval_cost)
    return copy


def compact(tsdb: Path, work: Path, tool: Any, timeout: float = 1800) -> None:
    """Merge the recorded history's blocks with the raw ones they overlap, before any measurement
    (a measured Prometheus would otherwise spend its first minutes compacting them): a real
    Prometheus, stopped once its number of blocks has stopped falling for a minute."""
    config = work / "compact.yml"
    config.write_text("global: {scrape_interval: 1m}\n")
    port = tool.free_port()
    with (work / "compact.log").open("w") as log:
        process = subprocess.Popen(["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tsdb}", f"--web.listen-address=127.0.0.1:{port}",
                                    "--storage.tsdb.retention.time=3650d", "--storage.tsdb.min-block-duration=2h",
                                    "--storage.tsdb.max-block-duration=18h"], stdout=log, stderr=subprocess.STDOUT)
        began, last, steady = time.monotonic(), None, 0
        try:
            while steady < 6:  # a minute unchanged: the compactor (every minute) has nothing left to merge
                if time.monotonic() - began > timeout or process.poll() is not None:
                    raise SystemExit(f"compacting the history did not finish; see {work / 'compact.log'}")
                time.sleep(10)
                try:
                    text = tool.http_get(f"http://127.0.0.1:{port}/metrics", timeout=10)
                except OSError:
                    continue
                blocks = next((line.split()[-1] for line in text.splitlines() if line.startswith("prometheus_tsdb_blocks_loaded ")), None)
                steady, last = (steady + 1 if blocks is not None and blocks == last else 0), blocks
            print(f"history compacted into {last} blocks in {time.monotonic() - began:.0f} s", flush=True)
        finally:
            process.terminate()
            process.wait(timeout=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="directory made by rule_eval_cost.py data (without it: print usage, exit 0)")
    parser.add_argument("--services", type=int, default=10, help="first N services of the spec (10 SLOs each)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--cycles", type=int, default=10)
    parser.add_argument("--json", default=None, help="where rule_eval_cost.py writes its raw results")
    parser.add_argument("--no-recorded-history", action="store_true", help="measure without backfilling the recorded series' history")
    parser.add_argument("--update-readme", action="store_true", help="write the table into its block of README.md (readme_block.py)")
    args = parser.parse_args()
    if not args.data:  # `make bench` runs every benchmark; this one takes ~30 min and prepared data
        print(__doc__)
        return

    document, count = our_rules(args.services)
    rules = sum(len(g["rules"]) for g in document["groups"])
    out = Path(tempfile.mkdtemp(prefix="slo-eval-")) / "ours.rules.yml"
    out.write_text(yaml.dump(document, Dumper=yaml.CSafeDumper, sort_keys=False, width=1 << 20))
    print(f"ours: {count} SLOs, {rules} rules ({rules / count:.0f} per SLO) in {out}")
    # Sloth's groups for the same SLOs end with the SLO name; ours too (plus -period).
    last = args.services * 10 - 1
    pattern = r"slo-(" + "|".join(f"{i:04d}" for i in range(last + 1)) + r")(-increase|-period)?$"
    data = Path(args.data)
    if not args.no_recorded_history:
        data = with_recorded_history(data, {"ours": document["groups"], "sloth": sloth_groups(pattern)}, out.parent)
    command = [
        sys.executable, str(SHARED / "bench/rule_eval_cost.py"), "run", "--data", str(data), str(out),
        "--vs", str(SLOTH_RULES),
        "--name", f"ours-{count}", "--vs-name", f"sloth-{count}", "--groups", pattern,
        "--rounds", str(args.rounds), "--cycles", str(args.cycles),
    ]
    results = Path(args.json) if args.json else out.parent / "results.json"
    command += ["--json", str(results)]
    code = subprocess.run(command, check=False).returncode
    if code == 0 and args.update_readme:
        manifest = json.loads((data / "manifest.json").read_text())["spec"]
        history = "without" if args.no_recorded_history else "with"
        readme_block.replace("bench_slo_eval_cost", readme_lines(json.loads(results.read_text()), manifest, history),
                             " ".join(["python benchmarks/bench_slo_eval_cost.py", f"--services {args.services}", f"--rounds {args.rounds}",
                                       f"--cycles {args.cycles}", *(["--no-recorded-history"] if args.no_recorded_history else [])]))
    sys.exit(code)


def readme_lines(results: dict[str, Any], data: dict[str, Any], history: str) -> list[str]:
    """The table of one invocation: each rule set's runs, and the geometric means of the ratios."""
    runs = [r for r in results["runs"] if r["groups"]]
    lines = ["| rule set | rules | recorded series | eval s/min (per round) | CPU s/min (per round) |", "|---|---:|---:|---|---|"]
    for name in dict.fromkeys(r["ruleset"] for r in runs):
        mine = [r for r in runs if r["ruleset"] == name]
        lines.append(f"| {name} | {mine[0]['recording_rules'] + mine[0]['alerting_rules']:,} | {mine[0].get('recorded_series', '-')} | "
                     f"{' / '.join(format(r['eval_s_per_min'], '.2f') for r in mine)} | {' / '.join(format(r['cpu_s_per_min'], '.2f') for r in mine)} |")
    ratios = results.get("ratios", {})
    lines.append(f"| ours / Sloth (geometric mean) | | | **{ratios['eval_s_per_min']['geomean']:.2f}** | **{ratios['cpu_s_per_min']['geomean']:.2f}** |")
    lines += ["", f"{data['services'] * data['handlers'] * data['instances'] * len(data['codes']):,} raw series, {data['days']:g} d at {data['step']} s, "
              f"{history} the recorded series' history backfilled; {results['args']['rounds']} rounds x {results['args']['cycles']} cycles; "
              f"{results['prometheus'].split(' (')[0]}, {results['cpus']} CPUs."]
    return lines


if __name__ == "__main__":
    main()
