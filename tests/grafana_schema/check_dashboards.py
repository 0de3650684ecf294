"""Type-check generated dashboards against Grafana's own TypeScript types.

No Grafana server can run here, so the strongest offline check is the
official dashboard types of the Grafana version we target (npm
@grafana/schema, pinned in package.json beside this file). Each dashboard
becomes a TypeScript module of object literals typed as `Dashboard`, `Panel`,
`RowPanel` and the panel plugin's `Options`/`FieldConfig`; `tsc --strict`
then rejects unknown keys (excess-property checks), missing required keys and
wrong value types.

Usage: check_dashboards.py [DASHBOARD_DIR]   (default generated/grafana/dashboards)
Needs node and npm; the packages are installed once into .tools/grafana-schema
from the npm registry (`npm ci`, exact versions from package-lock.json).
Exit status: 0 clean, 1 type errors, 2 setup failure.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
WORK = ROOT / ".tools" / "grafana-schema"
RAW = "@grafana/schema/dist/esm/raw"

PRELUDE = f"""\
import type {{ Dashboard, Panel, RowPanel }} from "{RAW}/dashboard/x/dashboard_types.gen";
import type {{ Options as TimeSeriesOptions, FieldConfig as TimeSeriesFieldConfig }} from "{RAW}/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen";
import type {{ Options as StatOptions }} from "{RAW}/composable/stat/panelcfg/x/StatPanelCfg_types.gen";
import type {{ Options as GaugeOptions }} from "{RAW}/composable/gauge/panelcfg/x/GaugePanelCfg_types.gen";
import type {{ Options as TableOptions, FieldConfig as TableFieldConfig }} from "{RAW}/composable/table/panelcfg/x/TablePanelCfg_types.gen";

// The schema declares TypeScript enums; JSON can only hold their values.
// Json<T> is T with every enum replaced by the union of its literal values.
type Json<T> = T extends string ? `${{T}}`
  : T extends number ? number
  : T extends boolean ? T
  : T extends Array<infer U> ? Array<Json<U>>
  : T extends object ? {{ [K in keyof T]: Json<T[K]> }}
  : T;
"""

OPTIONS_TYPE = {"timeseries": "TimeSeriesOptions", "stat": "StatOptions", "gauge": "GaugeOptions", "table": "TableOptions"}
CUSTOM_TYPE = {"timeseries": "TimeSeriesFieldConfig", "table": "TableFieldConfig"}

TSCONFIG = {
    "compilerOptions": {
        "strict": True,
        "noEmit": True,
        "module": "commonjs",
        "moduleResolution": "node",
        "target": "es2020",
        "skipLibCheck": True,
        "types": [],
    },
    "include": ["*.ts"],
}


def typescript_module(dashboard: dict) -> str:
    """One dashboard as typed TypeScript constants."""
    lines = [PRELUDE, f"export const dashboard: Json<Dashboard> = {json.dumps(dashboard, indent=1)};"]
    for panel in dashboard.get("panels", []):
        ident = panel.get("id")
        kind = panel.get("type")
        if kind == "row":
            lines.append(f"export const row{ident}: Json<RowPanel> = {json.dumps(panel)};")
            continue
        lines.append(f"export const panel{ident}: Json<Panel> = {json.dumps(panel)};")
        if kind not in OPTIONS_TYPE:
            lines.append(f'const unknownType{ident}: "no schema for this panel type" = {json.dumps(kind)};')
            continue
        lines.append(f"export const options{ident}: Json<{OPTIONS_TYPE[kind]}> = {json.dumps(panel.get('options', {}))};")
        if kind in CUSTOM_TYPE:
            custom = panel.get("fieldConfig", {}).get("defaults", {}).get("custom", {})
            lines.append(f"export const custom{ident}: Json<{CUSTOM_TYPE[kind]}> = {json.dumps(custom)};")
    return "\n".join(lines) + "\n"


def install() -> Path:
    """node_modules with the pinned packages, installed once."""
    if shutil.which("npm") is None:
        print("check_dashboards: npm not found (apt-get install -y nodejs npm)", file=sys.stderr)
        sys.exit(2)
    WORK.mkdir(parents=True, exist_ok=True)
    stamp = WORK / "package-lock.json"
    lock = (HERE / "package-lock.json").read_text()
    if not (WORK / "node_modules" / ".bin" / "tsc").exists() or not stamp.exists() or stamp.read_text() != lock:
        shutil.copy(HERE / "package.json", WORK / "package.json")
        stamp.write_text(lock)
        result = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=WORK)
        if result.returncode != 0:
            sys.exit(2)
    return WORK / "node_modules"


def main(argv: list[str]) -> int:
    folder = Path(argv[1]) if len(argv) > 1 else ROOT / "generated" / "grafana" / "dashboards"
    files = sorted(folder.glob("*.json"))
    if not files:
        print(f"check_dashboards: no dashboards in {folder}", file=sys.stderr)
        return 2
    modules = install()
    with tempfile.TemporaryDirectory(dir=WORK) as scratch:
        work = Path(scratch)
        (work / "node_modules").symlink_to(modules)
        (work / "tsconfig.json").write_text(json.dumps(TSCONFIG))
        for path in files:
            (work / (path.stem + ".ts")).write_text(typescript_module(json.loads(path.read_text())))
        result = subprocess.run([str(modules / ".bin" / "tsc"), "-p", str(work)], capture_output=True, text=True)
    if result.returncode != 0:
        print(result.stdout + result.stderr, end="")
        return 1
    print(f"{len(files)} dashboards match @grafana/schema")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
