"""The install layouts the README documents, run with the real Prometheus server.

Each test builds, in a temporary root, the filesystem the README's install
steps produce, starts Debian's `prometheus` binary with the start flags the
layout's generated file names, and asks the running server what it loaded:

- Debian's package (README, "Running at scale"): generated/prometheus/ copied
  to /etc/prometheus/generated/, `<env>/prometheus.default` copied to
  /etc/default/prometheus, whose ARGS the package's unit passes to
  `/usr/bin/prometheus`; the TSDB in the package's /var/lib/prometheus/metrics2/.
- The compose stack: the prometheus service's volumes laid out as the
  container sees them (each bind mount's source copied to its target, each
  named volume an empty directory), its `command` as the arguments. (The
  image runs Prometheus 2.53, this runs Debian's 2.42: the layout and the
  flags are what is tested, not the image.)

Nothing in the generated files is rewritten except by the install step
itself; the one change, in `reroot`, moves the absolute paths of the start
flags under the temporary root, since a test cannot write /etc or /var/lib.
The proof is the server's own /api/v1/rules (every group of every generated
rule file, from the installed rules directory), /api/v1/status/flags and the
TSDB's write-ahead log growing under the storage path.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from sergas_observability.compile import prometheus

from e2e.servers import HOST, PrometheusAPI, Process, free_port, require_binary, wait_for

ENVIRONMENTS = ("development", "staging", "production")
# Only environments whose config sends nothing off this machine are started: staging and
# production remote-write to the central store, and a test's traffic stays on loopback.
# Their rule files are the same files (../rules/*.yml), proven by the development run.
LOOPBACK_ONLY = ("development",)


def reroot(flags: list[str], root: Path) -> list[str]:
    """The test's only rewrite: `--flag=/abs/path` becomes `--flag=<root>/abs/path`.

    Every flag whose value is an absolute path is prefixed with the temporary
    root, so the server reads and writes the tree the test laid out instead of
    the machine's /etc and /var/lib. Other flags (retention, lifecycle) are
    passed as they are.
    """
    moved = []
    for flag in flags:
        name, sep, value = flag.partition("=")
        moved.append(f"{name}={root}{value}" if sep and value.startswith("/") else flag)
    return moved


def debian_args(defaults: Path) -> list[str]:
    """ARGS of /etc/default/prometheus, split as the unit's `ExecStart=/usr/bin/prometheus $ARGS` splits it."""
    lines = [line for line in defaults.read_text().splitlines() if line.startswith("ARGS=")]
    assert len(lines) == 1, lines
    value = lines[0].removeprefix("ARGS=")
    assert value[0] == value[-1] == '"', value
    return value[1:-1].split()


def install_debian(tree: Path, root: Path, env: str) -> Path:
    """The README's Debian install, into `root`; returns the installed rules directory."""
    # What the package provides: /etc/default/, /etc/prometheus/ and its TSDB directory.
    for directory in ("etc/default", "etc/prometheus", "var/lib/prometheus/metrics2"):
        (root / directory).mkdir(parents=True)
    # sudo rm -rf /etc/prometheus/generated && sudo cp -r generated/prometheus /etc/prometheus/generated
    shutil.copytree(tree / "prometheus", root / "etc/prometheus/generated")
    # sudo cp generated/prometheus/<env>/prometheus.default /etc/default/prometheus
    shutil.copy(tree / f"prometheus/{env}/prometheus.default", root / "etc/default/prometheus")
    return root / "etc/prometheus/generated/rules"


def install_compose(tree: Path, root: Path) -> tuple[list[str], dict[str, Any]]:
    """The prometheus container's filesystem under `root`, as its volumes say; returns (command, service)."""
    compose_dir = tree / "compose"
    service = yaml.safe_load((compose_dir / "docker-compose.yml").read_text())["services"]["prometheus"]
    for volume in service["volumes"]:
        source, target, *_mode = volume.split(":")
        inside = root / target.lstrip("/")
        inside.parent.mkdir(parents=True, exist_ok=True)
        if source.startswith((".", "/")):  # a bind mount: a host path, relative to the compose file
            host = (compose_dir / source).resolve()
            assert host.exists(), f"{volume}: {host} does not exist"
            if host.is_dir():
                shutil.copytree(host, inside)
            else:
                shutil.copy(host, inside)
        else:  # a named volume: empty the first time
            inside.mkdir()
    return service["command"], service


def flag(flags: list[str], name: str) -> str:
    values = [f.split("=", 1)[1] for f in flags if f.startswith(f"--{name}=")]
    assert len(values) == 1, (name, flags)
    return values[0]


def expected_groups(tree: Path) -> Counter[tuple[str, str, int]]:
    """(rule file name, group name, number of rules) of every group the generated rule files declare."""
    groups: Counter[tuple[str, str, int]] = Counter()
    for path in sorted((tree / "prometheus/rules").glob("*.yml")):
        for group in (yaml.safe_load(path.read_text()) or {}).get("groups") or []:
            groups[(path.name, group["name"], len(group["rules"]))] += 1
    assert groups, "no rule group generated: the comparison would prove nothing"
    return groups


def run_and_prove(tree: Path, root: Path, flags: list[str], rules_dir: Path, name: str) -> None:
    """Start the real server with `flags` re-rooted under `root`; prove what it loaded and that it writes its TSDB."""
    for path_flag in ("config.file", "storage.tsdb.path"):
        assert flag(flags, path_flag).startswith("/"), f"--{path_flag} must be absolute (the server's cwd is not ours)"
    argv_flags = reroot(flags, root)
    storage = Path(flag(argv_flags, "storage.tsdb.path"))
    assert storage.is_dir(), f"the layout has no {flag(flags, 'storage.tsdb.path')}"
    port = free_port()
    server = Process(name, [require_binary("prometheus"), *argv_flags, f"--web.listen-address={HOST}:{port}"],
                     port, root / f"{name}.log")
    try:
        server.start("/-/ready", timeout=30)
        api = PrometheusAPI(server.url)
        served = api.get("/api/v1/status/flags")
        assert served["config.file"] == flag(argv_flags, "config.file")
        assert Path(served["storage.tsdb.path"]) == storage

        groups = api.get("/api/v1/rules")["groups"]
        assert {Path(g["file"]).parent for g in groups} == {rules_dir}, sorted({g["file"] for g in groups})
        loaded = Counter((Path(g["file"]).name, g["name"], len(g["rules"])) for g in groups)
        assert loaded == expected_groups(tree), server.log_tail()

        # Every scrape, failed or not, writes a sample of `up{job=..., instance=...}`.
        # A committed sample is in the write-ahead log under the storage path
        # before queries see it, so once one is queryable its series is in the log.
        up = wait_for("a first scrape's `up` sample", lambda: api.query("up"), timeout=60, poll=0.5)
        wal = b"".join(f.read_bytes() for f in sorted((storage / "wal").glob("*")) if f.is_file())
        for sample in up:
            assert sample["metric"]["instance"].encode() in wal, f"{sample['metric']} not written under {storage}"
    finally:
        server.stop()


def test_debian_storage_path_is_the_packages_own():
    """The generated TSDB path is the default Debian's binary was built with (its package creates it, owned by `prometheus`)."""
    result = subprocess.run([require_binary("prometheus"), "--help"], capture_output=True, text=True, check=False, timeout=30)
    assert f'--storage.tsdb.path="{prometheus.DEBIAN_STORAGE}"' in result.stdout + result.stderr


def test_only_loopback_environments_are_started(tree):
    import yaml

    for env in ENVIRONMENTS:
        config = yaml.safe_load((tree / "prometheus" / env / "prometheus.yml").read_text())
        assert ("remote_write" not in config) == (env in LOOPBACK_ONLY), env
        assert config["rule_files"] == ["../rules/*.yml"], env  # the same rules in every environment


@pytest.mark.slow
@pytest.mark.parametrize("env", LOOPBACK_ONLY)
def test_debian_layout_loads_every_rule_group(tree, tmp_path, env):
    assert sorted(p.parent.name for p in (tree / "prometheus").glob("*/prometheus.default")) == sorted(ENVIRONMENTS)
    root = tmp_path / "root"
    rules_dir = install_debian(tree, root, env)
    flags = debian_args(root / "etc/default/prometheus")
    assert flag(flags, "config.file") == f"/etc/prometheus/generated/{env}/prometheus.yml"
    assert flag(flags, "storage.tsdb.path") == "/var/lib/prometheus/metrics2/"
    run_and_prove(tree, root, flags, rules_dir, f"prometheus-debian-{env}")


@pytest.mark.slow
def test_compose_layout_loads_every_rule_group(tree, tmp_path):
    root = tmp_path / "root"
    command, service = install_compose(tree, root)
    # The TSDB goes to a named volume (writable, kept across restarts), not into the read-only config mount.
    named = [v.split(":")[1] for v in service["volumes"] if not v.startswith((".", "/"))]
    assert flag(command, "storage.tsdb.path") in named, (command, service["volumes"])
    config = Path(flag(reroot(command, root), "config.file"))
    rules_dir = config.parent.parent / "rules"  # ../rules/*.yml from the config's directory, as Prometheus joins it
    assert yaml.safe_load(config.read_text())["rule_files"] == [prometheus.RULES_GLOB]
    run_and_prove(tree, root, command, rules_dir, "prometheus-compose")
