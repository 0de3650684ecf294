"""What evaluating the SLO rules centrally costs: vmalert over VictoriaMetrics against a local Prometheus, on the same data.

For each size (default 100 and 1,000 SLOs: the first N/10 services of the
1,000-SLO Sloth spec in ../shared/anchors/specs, compiled by our SLO compiler):

- **local**: ../shared/bench/rule_eval_cost.py `run` with its baseline: a
  real Prometheus over the data directory's backfilled history, gap-filled to
  now, scraping the tool's live exporter, evaluating the rule file. Reported:
  its rule-evaluation seconds per minute and its CPU per minute above the
  baseline run's (the same Prometheus with no rules).
- **central**: a real VictoriaMetrics holding the same samples (the tool's
  own series and counter clock, from the history's first sample to now,
  imported through /api/v1/import/prometheus with `env="production"`, the
  external label the environment's Prometheus would attach) and scraping the
  same live exporter; first a window with VictoriaMetrics alone (its
  baseline), then a real vmalert evaluating the rules as the
  `victoriametrics` output writes them (scoped to production by
  compile.distributed) against it, writing the recorded series back.
  Reported: vmalert's iteration seconds per minute, and the CPU per minute of
  vmalert plus VictoriaMetrics's CPU above its baseline.

The ratios central/local are of one invocation, the two sides measured back
to back on this machine. Neither side has history for the recorded series
(as bench_slo_eval_cost.py --no-recorded-history): the long windows over
recorded series read what was recorded during the run, alike on both sides.
Both sides count the series their rules recorded, and the figures are kept
out of the README unless the counts agree: a side whose selectors match
nothing cannot look cheap.

    python3 ../shared/bench/rule_eval_cost.py data --out /tmp/rec/data-10svc-3d --services 10 --days 3
    python3 ../shared/bench/rule_eval_cost.py data --out /tmp/rec/data-100svc-1d --services 100 --days 1
    .venv/bin/python benchmarks/bench_central_eval_cost.py --data 100=/tmp/rec/data-10svc-3d --data 1000=/tmp/rec/data-100svc-1d

Needs ../shared (the spec and the tool), prometheus/promtool and the
victoria-metrics package (victoria-metrics, vmalert) on PATH. Every server
binds to 127.0.0.1 and is stopped by PID.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(SHARED / "bench"))

import readme_block  # noqa: E402  (benchmarks/, beside this script)
from bench_slo_eval_cost import our_rules  # noqa: E402

from sergas_observability.compile.distributed import scoped_group  # noqa: E402
from sergas_observability.model import Environment  # noqa: E402

ENV = Environment(name="production", external_labels={"env": "production"})
SAMPLES_PER_POST = 500_000
HOST = "127.0.0.1"


def tool() -> Any:
    import rule_eval_cost  # ../shared/bench: the data generator and its live exporter

    return rule_eval_cost


# -- processes ------------------------------------------------------------------------------


class Server:
    """A server on 127.0.0.1 started here and stopped by its PID."""

    def __init__(self, name: str, argv: list[str], port: int, log: Path, ready: str):
        self.name, self.port = name, port
        self.url = f"http://{HOST}:{port}"
        self._log = open(log, "w")
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"error: {name} exited {self.proc.returncode}: {log.read_text()[-2000:]}")
            try:
                get(self.url + ready, timeout=5)
                return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise SystemExit(f"error: {name} not ready in 120 s ({log})")

    def metrics(self) -> dict[str, float]:
        """Every sample of /metrics summed by metric name (labels folded)."""
        sums: dict[str, float] = {}
        for line in get(self.url + "/metrics").splitlines():
            if line and not line.startswith("#"):
                name = line.split("{", 1)[0].split(" ", 1)[0]
                try:
                    sums[name] = sums.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
                except ValueError:
                    continue
        return sums

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def get(url: str, timeout: float = 120) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read().decode()


def post(url: str, body: bytes) -> None:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(request, timeout=600) as response:
        response.read()


class Sink:
    """Where vmalert sends its alerts: accepted and dropped (the cost measured is the evaluation's)."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer((HOST, 0), Handler)
        self.url = f"http://{HOST}:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# -- the rule sets --------------------------------------------------------------------------


def rule_sets(slos: int, workdir: Path) -> tuple[Path, Path, int, list[str]]:
    """The local rule file, the production-scoped one, the rule count and the recorded names."""
    document, count = our_rules(slos // 10)
    if count != slos:
        raise SystemExit(f"error: the spec's first {slos // 10} services hold {count} SLOs, not {slos}")
    local = workdir / f"local-{slos}.rules.yml"
    central = workdir / f"central-{slos}.rules.yml"
    scoped = {"groups": [scoped_group(group, ENV, "env") for group in document["groups"]]}
    for path, doc in ((local, document), (central, scoped)):
        path.write_text(yaml.dump(doc, Dumper=yaml.CSafeDumper, sort_keys=False, width=1 << 20))
    rules = [rule for group in document["groups"] for rule in group["rules"]]
    recorded = sorted({rule["record"] for rule in rules if "record" in rule})
    return local, central, len(rules), recorded


def intervals(path: Path) -> list[float]:
    groups = yaml.safe_load(path.read_text())["groups"]
    return sorted({tool().parse_duration(group.get("interval", "30s")) for group in groups})


# -- local: the tool's Prometheus run ---------------------------------------------------------


def local_side(data: Path, rules: Path, slos: int, cycles: int, warmup: float, workdir: Path) -> dict[str, Any]:
    results = workdir / f"local-{slos}.json"
    command = [sys.executable, str(SHARED / "bench/rule_eval_cost.py"), "run", "--data", str(data), str(rules),
               "--name", f"local-{slos}", "--rounds", "1", "--cycles", str(cycles), "--warmup", str(warmup),
               "--workdir", str(workdir / "runs"), "--json", str(results)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    baseline, run = json.loads(results.read_text())["runs"]
    return {
        "eval_s_per_min": run["eval_s_per_min"],
        "cpu_s_per_min": run["cpu_s_per_min"] - baseline["cpu_s_per_min"],
        "recorded_series": run.get("recorded_series"),
        "missed": run["iterations_missed"],
        "failures": run["evaluation_failures"],
    }


# -- central: VictoriaMetrics and vmalert -------------------------------------------------------


def import_history(vm: Server, data: Path) -> int:
    """The data directory's samples, from its first to now, into VictoriaMetrics labelled env="production"."""
    rec = tool()
    spec, _ = rec.load_data(str(data))
    series, phases = rec.build_series(spec)
    origin = rec.counter_origin(spec)
    now = int(time.time()) // spec.step * spec.step
    stamps = list(range(spec.start, now + 1, spec.step))
    per_post = max(1, SAMPLES_PER_POST // len(series))
    url = f"{vm.url}/api/v1/import/prometheus?{urllib.parse.urlencode({'extra_label': 'env=production'})}"
    for first in range(0, len(stamps), per_post):
        chunk = stamps[first:first + per_post]
        clocks = [[rec.cumulative(t, phase, origin) for t in chunk] for phase in phases]
        millis = [str(t * 1000) for t in chunk]
        lines = [f"{s.prefix}{int(s.rate * c)} {ms}\n" for s in series for c, ms in zip(clocks[s.service], millis)]
        post(url, "".join(lines).encode())
    return len(stamps) * len(series)


def count(vm: Server, expr: str) -> int:
    answer = json.loads(get(f"{vm.url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"))
    result = answer["data"]["result"]
    return int(float(result[0]["value"][1])) if result else 0


def central_side(data: Path, rules: Path, recorded: list[str], cycles: int, warmup: float, workdir: Path) -> dict[str, Any]:
    rec = tool()
    spec, _ = rec.load_data(str(data))
    window = cycles * min(intervals(rules))
    exporter = rec.Exporter(spec)
    exporter.start()
    sink = Sink()
    scrape = workdir / "vm-scrape.yml"
    scrape.write_text(yaml.safe_dump({"scrape_configs": [{
        "job_name": "synthetic", "honor_labels": True, "scrape_interval": f"{spec.step}s",
        "static_configs": [{"targets": [f"{HOST}:{exporter.port}"], "labels": {"env": "production"}}]}]}))
    storage = workdir / "vm-data"
    shutil.rmtree(storage, ignore_errors=True)
    vm_port, alert_port = rec.free_port(), rec.free_port()
    servers: list[Server] = []
    try:
        vm = Server("victoria-metrics", [need("victoria-metrics"), f"-httpListenAddr={HOST}:{vm_port}",
                                         f"-storageDataPath={storage}", "-retentionPeriod=1y",
                                         f"-promscrape.config={scrape}", "-loggerLevel=ERROR"],
                    vm_port, workdir / "vm.log", "/health")
        servers.append(vm)
        began = time.monotonic()
        samples = import_history(vm, data)
        print(f"  central: imported {samples:,} samples in {time.monotonic() - began:.0f} s", flush=True)
        settle(vm, warmup)
        time.sleep(warmup)  # the scraper on its schedule
        alone = measure([vm], window)
        ruler = Server("vmalert", [need("vmalert"), f"-rule={rules}", f"-datasource.url={vm.url}",
                                   f"-remoteWrite.url={vm.url}", f"-notifier.url={sink.url}",
                                   "-evaluationInterval=30s", f"-httpListenAddr={HOST}:{alert_port}", "-loggerLevel=ERROR"],
                       alert_port, workdir / "vmalert.log", "/health")
        servers.append(ruler)
        time.sleep(warmup)
        both = measure([vm, ruler], window)
        names = "|".join(recorded)
        recorded_series = count(vm, f'count({{__name__=~"{names}"}})')
        vm_net = both["cpu"][0] - alone["cpu"][0]
        return {
            "eval_s_per_min": both["delta"][1].get("vmalert_iteration_duration_seconds_sum", 0.0) / both["minutes"],
            "cpu_s_per_min": both["cpu"][1] + vm_net,
            "vmalert_cpu_s_per_min": both["cpu"][1],
            "vm_net_cpu_s_per_min": vm_net,
            "recorded_series": recorded_series,
            "missed": int(both["delta"][1].get("vmalert_iteration_missed_total", 0)),
            "failures": int(both["delta"][1].get("vmalert_recording_rules_errors_total", 0)
                            + both["delta"][1].get("vmalert_alerting_rules_errors_total", 0)),
            "samples_imported": samples,
        }
    finally:
        for server in reversed(servers):
            server.stop()
        sink.stop()
        exporter.stop()
        shutil.rmtree(storage, ignore_errors=True)


def settle(vm: Server, timeout: float) -> None:
    """The imported samples flushed and their merges done: none of that lands in a measurement."""
    get(f"{vm.url}/internal/force_flush")
    deadline, quiet = time.monotonic() + timeout, 0
    while time.monotonic() < deadline and quiet < 3:
        quiet = quiet + 1 if vm.metrics().get("vm_active_merges", 0.0) == 0 else 0
        time.sleep(2)


def measure(servers: list[Server], seconds: float) -> dict[str, Any]:
    """Each server's /metrics deltas over `seconds`, and its CPU seconds per minute."""
    start, t0 = [s.metrics() for s in servers], time.monotonic()
    time.sleep(seconds)
    end, t1 = [s.metrics() for s in servers], time.monotonic()
    minutes = (t1 - t0) / 60
    delta = [{name: value - a.get(name, 0.0) for name, value in b.items()} for a, b in zip(start, end)]
    return {"minutes": minutes, "delta": delta, "cpu": [d.get("process_cpu_seconds_total", 0.0) / minutes for d in delta]}


def versions(package: str) -> str:
    """The Debian package's version (Debian's vmalert -version prints nothing)."""
    found = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True) if shutil.which("dpkg-query") else None
    return f"{package} {found.stdout.strip() if found and found.returncode == 0 else '(version unknown)'}"


def need(binary: str) -> str:
    found = shutil.which(binary)
    if found is None:
        raise SystemExit(f"error: {binary} not found: apt-get install -y --no-install-recommends victoria-metrics")
    return found


# -- report ---------------------------------------------------------------------------------------


def table(rows: list[dict[str, Any]]) -> list[str]:
    lines = ["| SLOs | rules | side | eval s/min | net CPU s/min | recorded series | missed, failed |",
             "|---:|---:|---|---:|---:|---:|---|"]
    for row in rows:
        for side, label in (("local", "local Prometheus"), ("central", "vmalert + VictoriaMetrics")):
            r = row[side]
            lines.append(f"| {row['slos']:,} | {row['rules']:,} | {label} | {r['eval_s_per_min']:.2f} | {r['cpu_s_per_min']:.2f} | "
                         f"{r['recorded_series']:,} | {r['missed']}, {r['failures']} |")
        lines.append(f"| {row['slos']:,} | | **central / local** | **{ratio(row, 'eval_s_per_min')}** | **{ratio(row, 'cpu_s_per_min')}** | | |")
    return lines


def ratio(row: dict[str, Any], key: str) -> str:
    local = row["local"][key]
    return f"{row['central'][key] / local:.2f}" if local > 0 else "n/a"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", action="append", default=[], metavar="SLOS=DIR",
                        help="a size and the rule_eval_cost.py data directory for it (its services >= SLOS/10); repeatable")
    parser.add_argument("--cycles", type=int, default=4, help="measured cycles (of the shortest group interval) per side")
    parser.add_argument("--warmup", type=float, default=150, help="seconds before each measurement")
    parser.add_argument("--update-readme", action="store_true", help="write the table into its block of README.md")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.data:  # `make bench` runs every benchmark; this one takes prepared data and ~10 min a size
        print(__doc__)
        return 0
    if not (SHARED / "bench/rule_eval_cost.py").is_file():
        print("skipped: ../shared/bench/rule_eval_cost.py not found")
        return 0
    if args.update_readme and readme_block.check("bench_central_eval_cost"):
        print(f"error: {readme_block.check('bench_central_eval_cost')}", file=sys.stderr)
        return 1
    rows, disagreed = [], False
    with tempfile.TemporaryDirectory(prefix="central-eval-") as tmp:
        workdir = Path(tmp)
        for item in args.data:
            size, _, directory = item.partition("=")
            slos, data = int(size), Path(directory)
            local_rules, central_rules, rules, recorded = rule_sets(slos, workdir)
            print(f"{slos:,} SLOs, {rules:,} rules: local Prometheus", flush=True)
            local = local_side(data, local_rules, slos, args.cycles, args.warmup, workdir)
            print(f"  local: {local}", flush=True)
            print(f"{slos:,} SLOs: vmalert + VictoriaMetrics", flush=True)
            central = central_side(data, central_rules, recorded, args.cycles, args.warmup, workdir)
            print(f"  central: {central}", flush=True)
            spec = json.loads((data / "manifest.json").read_text())["spec"]
            rows.append({"slos": slos, "rules": rules, "local": local, "central": central, "spec": spec})
            if local["recorded_series"] != central["recorded_series"]:
                disagree = f"{slos:,} SLOs: local recorded {local['recorded_series']} series, central {central['recorded_series']}"
                print(f"error: the two sides did not evaluate the same rules alike ({disagree}); README left alone", file=sys.stderr)
                args.update_readme, disagreed = False, True
    lines = table(rows)
    version = f"{versions('prometheus')}; {versions('victoria-metrics')}"
    notes = [f"{row['slos']:,} SLOs: {row['spec']['services'] * row['spec']['handlers'] * row['spec']['instances'] * len(row['spec']['codes']):,} "
             f"raw series, {row['spec']['days']:g} d at {row['spec']['step']} s" for row in rows]
    lines += ["", "; ".join(notes) + f"; {args.cycles} cycles after {args.warmup:g} s of warm-up per side; {version}."]
    print("\n".join(lines))
    if args.update_readme:
        command = " ".join(["python benchmarks/bench_central_eval_cost.py", *(f"--data {item}" for item in args.data),
                            f"--cycles {args.cycles}", f"--warmup {args.warmup:g}"])
        readme_block.replace("bench_central_eval_cost", lines, command)
    return 1 if disagreed else 0


if __name__ == "__main__":
    sys.exit(main())
