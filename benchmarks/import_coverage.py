"""How much of a tree of public SLO specs `sergas-obs import` converts, and why the rest is refused.

    python benchmarks/import_coverage.py [--update-readme] NAME=DIR ...

Each NAME=DIR is a checkout of a project's examples (e.g.
`sloth=.../sloth/examples`; `fetch` a repository and `git archive` it). Every
YAML file is read, each document routed to the importer of its format (Sloth
`prometheus/v1` and its CRD, OpenSLO `kind: SLO`, Pyrra
`ServiceLevelObjective`; anything else is not an SLO and not counted), and
every SLO counted as converted or refused, refusals grouped by their reason.
What converts is what `tests/test_slo_import_check.py` proves generates and
passes `check` for our own fixtures of the same shapes.
"""

from __future__ import annotations

import argparse
import collections
import re
from pathlib import Path

import yaml

import readme_block  # benchmarks/, beside this script

from sergas_observability.slo_import import load_openslo, load_pyrra, load_sloth

LOADERS = {"Sloth": load_sloth, "OpenSLO": load_openslo, "Pyrra": load_pyrra}


def formats(text: str) -> set[str]:
    """The SLO formats a file's documents are written in (the OpenSLO documents of a Sloth example are OpenSLO's)."""
    try:
        documents = [d for d in yaml.safe_load_all(text) if d]
    except yaml.YAMLError:
        return set()
    found = set()
    for doc in (d for item in documents for d in (item if isinstance(item, list) else [item])):
        if not isinstance(doc, dict):
            continue
        version, kind = str(doc.get("apiVersion", "")), doc.get("kind")
        if version.startswith("sloth.slok.dev/") and kind == "PrometheusServiceLevel" or doc.get("version") == "prometheus/v1":
            found.add("Sloth")
        elif version.startswith("openslo/") and kind == "SLO":
            found.add("OpenSLO")
        elif version.startswith("pyrra.dev/") and kind == "ServiceLevelObjective":
            found.add("Pyrra")
    return found


def measure(trees: dict[str, Path]) -> tuple[dict[tuple[str, str], list[int]], collections.Counter[tuple[str, str]]]:
    """(tree, format) -> [converted, refused], and (format, reason) -> how many SLOs it refused."""
    counts: dict[tuple[str, str], list[int]] = {}
    reasons: collections.Counter[tuple[str, str]] = collections.Counter()
    for name, root in trees.items():
        for path in sorted(p for p in root.rglob("*") if p.suffix in (".yml", ".yaml")):
            text = path.read_text(errors="replace")
            for kind in sorted(formats(text)):
                refused: list[str] = []
                converted = LOADERS[kind](text, refused=refused)
                # A document of another kind in a file of this format (Sloth's AlertWindows) is no SLO.
                refused = [r for r in refused if "not a Sloth prometheus/v1 spec" not in r and "not a Pyrra" not in r]
                total = counts.setdefault((name, kind), [0, 0])
                total[0] += len(converted)
                total[1] += len(refused)
                for reason in refused:
                    reasons[(kind, re.sub(r"SLO '[^']*' ", "", re.sub(r"^document \d+: ", "", reason)))] += 1
    return counts, reasons


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="+", metavar="NAME=DIR")
    parser.add_argument("--update-readme", action="store_true", help="write the table into README.md (import_coverage block)")
    args = parser.parse_args()
    if args.update_readme and readme_block.check("import_coverage"):
        parser.error(readme_block.check("import_coverage") or "")
    trees = {}
    for item in args.trees:
        name, _, directory = item.partition("=")
        if not directory or not Path(directory).is_dir():
            parser.error(f"{item}: expected NAME=DIR with DIR a directory")
        trees[name] = Path(directory)
    counts, reasons = measure(trees)
    lines = ["| examples | format | SLOs | converted | refused |", "|---|---|---|---|---|"]
    for (name, kind), (converted, refused) in sorted(counts.items()):
        lines.append(f"| {name} | {kind} | {converted + refused} | {converted} | {refused} |")
    lines += ["", "| refused SLOs | format | reason |", "|---|---|---|"]
    lines += [f"| {n} | {kind} | {reason[:160]} |" for (kind, reason), n in reasons.most_common()]
    print("\n".join(lines))
    if args.update_readme:
        # The trees by name: where a checkout lies is the reader's own.
        readme_block.replace("import_coverage", lines, "python benchmarks/import_coverage.py " + " ".join(f"{n}=…" for n in trees))


if __name__ == "__main__":
    main()
