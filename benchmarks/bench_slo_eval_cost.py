"""What our SLO rules cost a real Prometheus, side by side with Sloth's, for the same SLOs.

Imports the first N services (default 10 = 100 SLOs) of the 1,000-SLO Sloth
spec in ../shared/anchors/specs, compiles them with our SLO compiler into one
rule file, and hands it with Sloth's output for the same SLOs to
../shared/bench/rule_eval_cost.py (`run --vs`), which backfills realistic
history into a real Prometheus and measures evaluation seconds and CPU per
minute of both, alternating A B A B on the same data. Read that tool's README
for the method; quote the A/B ratios of one invocation.

    python3 ../shared/bench/rule_eval_cost.py data --out /tmp/rec/data-10svc-3d --services 10 --days 3
    .venv/bin/python benchmarks/bench_slo_eval_cost.py --data /tmp/rec/data-10svc-3d --rounds 2 --cycles 6

Needs ../shared (spec, Sloth's output, the tool) and prometheus/promtool on PATH.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))

from sergas_observability.compile.slo import Links, compile_slos  # noqa: E402
from sergas_observability.slo_import import load_sloth  # noqa: E402


def our_rules(services: int) -> tuple[dict, int]:
    spec = (SHARED / "anchors/specs/1000-slos-100-services.yml").read_text()
    wanted = {f"svc-{i:03d}" for i in range(services)}
    slos = [s for s in load_sloth(spec) if s.service in wanted]
    files = compile_slos(slos, {}, Links("http://grafana.invalid", "bench"))
    return {"groups": [group for document in files.values() for group in document["groups"]]}, len(slos)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="directory made by rule_eval_cost.py data (without it: print usage, exit 0)")
    parser.add_argument("--services", type=int, default=10, help="first N services of the spec (10 SLOs each)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--cycles", type=int, default=10)
    parser.add_argument("--json", default=None, help="where rule_eval_cost.py writes its raw results")
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
    command = [
        sys.executable, str(SHARED / "bench/rule_eval_cost.py"), "run", "--data", args.data, str(out),
        "--vs", str(SHARED / "anchors/sloth/1000-slos-100-services.rules.yml.gz"),
        "--name", f"ours-{count}", "--vs-name", f"sloth-{count}", "--groups", pattern,
        "--rounds", str(args.rounds), "--cycles", str(args.cycles),
    ]
    if args.json:
        command += ["--json", args.json]
    sys.exit(subprocess.run(command, check=False).returncode)


if __name__ == "__main__":
    main()
