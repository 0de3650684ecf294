"""Generation speed: import the 1,000-SLO Sloth spec and write our rule files.

Each run is a fresh process doing what a user's `generate` does for these
SLOs: import the library, parse and validate the spec (pydantic SLOs), compile
8 rules per SLO, serialise them to YAML and write the tree to a temporary
directory. Reported: whole-process wall time (median and best of 5), peak RSS,
rules and bytes written; a bare `python -c pass` and a process that only
imports the library run in the same invocation as baselines. Sloth's figure
for the same spec (0.49-0.50 s, 105 MB, ../shared/anchors/README.md) was
measured on this kind of machine, not in this run.

    .venv/bin/python benchmarks/bench_slo_generate.py [SPEC]
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT.parent / "shared/anchors/specs/1000-slos-100-services.yml"
RUNS = 5

GENERATE = """
import json, sys, tempfile, pathlib
from sergas_observability.slo_import import load_sloth
from sergas_observability.compile.slo import Links, compile_slos
from sergas_observability.output import render_all, write_tree
slos = load_sloth(pathlib.Path(sys.argv[1]).read_text())
documents = compile_slos(slos, {}, Links("https://grafana.invalid", "bench"))
files = render_all(documents)
write_tree(files, pathlib.Path(tempfile.mkdtemp()) / "generated")
rules = sum(len(g["rules"]) for d in documents.values() for g in d["groups"])
print(json.dumps({"slos": len(slos), "rules": rules, "bytes": sum(len(t) for t in files.values()), "files": len(files)}))
"""
IMPORT_ONLY = "import sergas_observability.slo_import, sergas_observability.compile.slo, sergas_observability.output"


def measure(code: str, *args: str) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (MB) and stdout of one fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    # ru_maxrss of children is the largest child so far: run the biggest last, or read it per kind.
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak, before) // 1024, proc.stdout


def main() -> None:
    spec = Path(sys.argv[1]) if len(sys.argv) > 1 else SPEC
    if not spec.is_file():
        print(f"skipped: {spec} not found (the benchmark reads ../shared)")
        return
    rows = []
    # Smallest processes first: RUSAGE_CHILDREN keeps the maximum over all children.
    for label, code, args in (("python -c pass", "pass", ()), ("import the library", IMPORT_ONLY, ()), ("import + generate 1,000 SLOs", GENERATE, (str(spec),))):
        walls, peak, out = [], 0, ""
        for _ in range(RUNS):
            wall, peak, out = measure(code, *args)
            walls.append(wall)
        rows.append((label, statistics.median(walls), min(walls), peak))
    result = json.loads(out)
    print(f"spec: {spec.name}: {result['slos']} SLOs -> {result['rules']} rules ({result['rules'] / result['slos']:.0f} per SLO),"
          f" {result['files']} files, {result['bytes'] / 1e6:.1f} MB")
    print(f"{'process':32} {'median s':>9} {'best s':>7} {'peak MB':>8}")
    for label, median, best, peak in rows:
        print(f"{label:32} {median:9.3f} {best:7.3f} {peak:8d}")
    generate = rows[-1][1]
    print(f"generation alone (median minus library import): {generate - rows[1][1]:.3f} s")
    print("Sloth v0.16.0, same spec, this kind of machine (anchors README, not this run): 0.49-0.50 s, 105 MB, 17,000 rules")


if __name__ == "__main__":
    main()
