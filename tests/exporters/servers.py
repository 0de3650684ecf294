"""The real servers behind the exporter tests: PostgreSQL, Redis, the exporters, a loop-mounted disk.

Everything listens on 127.0.0.1 (free ports) and keeps its data in temporary
directories. The process helpers are those of the live-stack tests
(tests/e2e/servers.py): each server is a child process with a log file, gets
SIGTERM if the test process dies, and is stopped by its PID (a signal, then
SIGKILL). PostgreSQL refuses to run as root, so its binaries run as the
`postgres` system user through `setpriv` (which execs, so the PID we hold is
the postmaster's own).
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from e2e.servers import HOST, Process, _die_with_parent, free_port

# What `make tools` installs; a missing binary fails a test with this line.
APT_PACKAGES = (
    "prometheus prometheus-alertmanager prometheus-postgres-exporter prometheus-redis-exporter "
    "prometheus-node-exporter prometheus-blackbox-exporter prometheus-pushgateway redis-server postgresql-15 e2fsprogs"
)
INSTALL = f"apt-get install -y --no-install-recommends {APT_PACKAGES}"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_USER = "postgres"  # the system user PostgreSQL runs as


def require(binary: str) -> str:
    """The path of `binary` (a name on PATH or an absolute path); a failure with the install line if missing."""
    path = binary if os.path.isabs(binary) and os.access(binary, os.X_OK) else shutil.which(binary)
    if path is None:
        raise AssertionError(f"{binary} is not installed: {INSTALL}")
    return path


def require_all() -> None:
    for binary in (
        "prometheus", "prometheus-postgres-exporter", "prometheus-redis-exporter", "prometheus-node-exporter",
        "prometheus-blackbox-exporter", "redis-server", "psql", "setpriv", "mkfs.ext4", "fallocate",
        str(PG_BIN / "postgres"), str(PG_BIN / "initdb"),
    ):
        require(binary)


# --- processes ------------------------------------------------------------------


# A server of the rig: e2e's Process (an HTTP or a `probe` readiness, a chosen stop signal).
Server = Process


def stop_all(processes: Iterable[subprocess.Popen[Any]]) -> None:
    """Stop client processes by PID: SIGTERM, then SIGKILL after a grace period."""
    processes = [p for p in processes if p.poll() is None]
    for process in processes:
        process.terminate()
    deadline = time.monotonic() + 5
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Prometheus text format: sample name -> [(labels, value)], names exactly as exposed.

    (prometheus_client's parser renames a counter without `_total`, such as
    pg_stat_database_deadlocks, to `..._total`: not what Prometheus stores.)
    """
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for line in text.splitlines():
        found = _SAMPLE.match(line)
        if found is None:  # comments, blank lines
            continue
        name, labels, value = found.groups()
        pairs = {k: v.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\") for k, v in _LABEL.findall(labels or "")}
        samples.setdefault(name, []).append((pairs, float(value)))
    return samples


def scrape(url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """An exporter's /metrics (or a blackbox /probe), parsed."""
    with urllib.request.urlopen(url, timeout=10) as response:
        return parse_metrics(response.read().decode())


# --- PostgreSQL ------------------------------------------------------------------


def _as_postgres() -> list[str]:
    # --pdeathsig after the uid change: the kernel clears PR_SET_PDEATHSIG when credentials change.
    return [require("setpriv"), f"--reuid={PG_USER}", f"--regid={PG_USER}", "--init-groups", "--pdeathsig=INT", "--"]


@dataclass
class Postgres:
    """A throw-away PostgreSQL 15 cluster on 127.0.0.1:`port`, socket and data under `root`."""

    root: Path
    port: int
    settings: dict[str, str]
    log: Path
    server: Server | None = None
    sessions: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @classmethod
    def create(cls, settings: dict[str, str], log: Path) -> "Postgres":
        try:
            owner = pwd.getpwnam(PG_USER)
        except KeyError:
            raise AssertionError(f"no '{PG_USER}' system user (the postgresql package creates it): {INSTALL}") from None
        if os.geteuid() != 0:
            raise AssertionError("the exporter tests run PostgreSQL as the postgres user and mount a disk image: run them as root")
        # Not under pytest's tmp_path: that is private to root (0700), and the postgres user must reach its data.
        root = Path(tempfile.mkdtemp(prefix="sergas-postgres-"))
        os.chmod(root, 0o755)
        os.chown(root, owner.pw_uid, owner.pw_gid)
        pg = cls(root, free_port(), settings, log)
        initdb = subprocess.run(
            _as_postgres() + [require(str(PG_BIN / "initdb")), "-D", str(pg.data), "-U", "postgres",
                              "--auth-local=trust", "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-sync"],
            capture_output=True, text=True, timeout=120,
        )
        if initdb.returncode != 0:
            pg.remove()
            raise AssertionError(f"initdb failed ({initdb.returncode}):\n{initdb.stdout}\n{initdb.stderr}")
        return pg

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root  # unix socket .s.PGSQL.<port> lives here, not in /var/run/postgresql

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    def start(self) -> None:
        argv = _as_postgres() + [
            require(str(PG_BIN / "postgres")), "-D", str(self.data), "-p", str(self.port),
            "-c", f"listen_addresses={HOST}", "-c", f"unix_socket_directories={self.socket_dir}",
            *(arg for key, value in self.settings.items() for arg in ("-c", f"{key}={value}")),
        ]
        self.server = Server(
            "postgres", argv, self.port, self.log,
            probe=self._accepting, stop_signal=signal.SIGINT,
        )
        self.server.start(timeout=60)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()

    @property
    def running(self) -> bool:
        return self.server is not None and self.server.running

    def _accepting(self) -> bool:
        return self.psql("SELECT 1", check=False) == "1"

    def _psql_argv(self, db: str, user: str) -> list[str]:
        return [require("psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                "-h", str(self.socket_dir), "-p", str(self.port), "-U", user, "-d", db]

    def env(self, application_name: str = "sergas-exporter-tests") -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(PGAPPNAME=application_name, PGCONNECT_TIMEOUT="5", PGHOST=str(self.socket_dir), PGPORT=str(self.port))
        return env

    def psql(self, sql: str, db: str = "postgres", user: str = "postgres", check: bool = True) -> str:
        """Run `sql` through psql on the unix socket (trust for local connections); its output, stripped."""
        done = subprocess.run(self._psql_argv(db, user) + ["-c", sql], capture_output=True, text=True, timeout=60, env=self.env())
        if check and done.returncode != 0:
            raise AssertionError(f"psql {sql!r} failed ({done.returncode}): {done.stderr.strip()}")
        return done.stdout.strip() if done.returncode == 0 else ""

    def session(self, sql: str | list[str] | None, application_name: str, db: str = "sergas") -> subprocess.Popen[bytes]:
        """A background psql session (as postgres) running `sql` (statements in order, stopping at an error),
        or (None) connected and idle, waiting on its stdin."""
        statements = [sql] if isinstance(sql, str) else (sql or [])
        argv = self._psql_argv(db, "postgres") + [arg for statement in statements for arg in ("-c", statement)]
        process = subprocess.Popen(
            argv, env=self.env(application_name), stdin=subprocess.PIPE if sql is None else subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent,
        )
        self.sessions.append(process)
        return process

    def count_sessions(self, application_name: str, state: str | None = None) -> int:
        where = f"application_name = '{application_name}'" + (f" AND state = '{state}'" if state else "")
        return int(self.psql(f"SELECT count(*) FROM pg_stat_activity WHERE {where}"))

    def end_sessions(self, application_name: str) -> None:
        """Terminate the backends of `application_name` (a killed psql leaves a sleeping backend behind), then the psql processes."""
        self.psql(f"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = '{application_name}'")
        stop_all(self.sessions)
        self.sessions = [s for s in self.sessions if s.poll() is None]

    def remove(self) -> None:
        stop_all(self.sessions)
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def create_monitoring_role(pg: Postgres, user: str, password: str, *, pg_monitor: bool = True,
                           init_script: Path | None = None) -> None:
    """The role postgres_exporter connects as: LOGIN with a password, and (unless told otherwise) pg_monitor.

    Production creates it with generated/compose/postgres-init/10-monitoring-role.sh,
    which the official postgres image runs at initialisation (psql -v
    ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB",
    role in $MONITORING_USER, password read from $MONITORING_PASSWORD_FILE).
    Given that script (`init_script`, once it is generated), it is what runs,
    with that environment; until then the same role is created here with SQL.
    The role without pg_monitor (the negative test) is always plain SQL.
    """
    if pg_monitor and init_script is not None:
        secret = pg.root / f"{user}.password"
        secret.write_text(password + "\n")
        env = pg.env() | {"POSTGRES_USER": "postgres", "POSTGRES_DB": "postgres",
                          "MONITORING_USER": user, "MONITORING_PASSWORD_FILE": str(secret)}
        done = subprocess.run(["sh", str(init_script)], env=env, capture_output=True, text=True, timeout=60)
        secret.unlink()
        if done.returncode != 0:
            raise AssertionError(f"{init_script} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        return
    pg.psql(f"CREATE ROLE {user} LOGIN PASSWORD '{password}'")
    if pg_monitor:
        pg.psql(f"GRANT pg_monitor TO {user}")


# --- Redis -------------------------------------------------------------------------


class RespError(Exception):
    pass


class Resp:
    """A minimal RESP2 client over a raw socket: enough for PING, SET, GET and pipelines of them."""

    def __init__(self, port: int, timeout: float = 5.0):
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.reader = self.sock.makefile("rb")

    def close(self) -> None:
        self.reader.close()
        self.sock.close()

    def __enter__(self) -> "Resp":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def encode(*args: str | bytes) -> bytes:
        parts = [f"*{len(args)}\r\n".encode()]
        for arg in args:
            data = arg.encode() if isinstance(arg, str) else arg
            parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        return b"".join(parts)

    def _reply(self) -> Any:
        line = self.reader.readline()
        if not line:
            raise ConnectionError("redis closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RespError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None
            data = self.reader.read(size + 2)[:-2]
            return data
        if kind == b"*":
            size = int(rest)
            return None if size < 0 else [self._reply() for _ in range(size)]
        raise RespError(f"unexpected reply {line!r}")

    def command(self, *args: str | bytes) -> Any:
        self.sock.sendall(self.encode(*args))
        return self._reply()

    def pipeline(self, commands: list[tuple[str, ...]]) -> list[Any]:
        self.sock.sendall(b"".join(self.encode(*c) for c in commands))
        return [self._reply() for _ in commands]


def redis_server(workdir: Path) -> Server:
    port = free_port()
    data = workdir / "redis-data"
    data.mkdir(parents=True, exist_ok=True)
    argv = [require("redis-server"), "--port", str(port), "--bind", HOST, "--dir", str(data),
            "--save", "", "--appendonly", "no", "--loglevel", "warning"]

    def pong() -> bool:
        with Resp(port, timeout=1) as redis:
            return bool(redis.command("PING") == "PONG")

    return Server("redis", argv, port, workdir / "redis.log", probe=pong)


# --- the exporters ---------------------------------------------------------------------


def _clean_env(**extra: str) -> dict[str, str]:
    """The test's environment without any exporter or libpq setting, plus `extra`."""
    prefixes = ("DATA_SOURCE_", "PG_EXPORTER_", "PG", "REDIS_", "NODE_EXPORTER_")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)} | extra


def postgres_exporter(workdir: Path, name: str, pg: Postgres, user: str, password_file: Path,
                      queries: Path | None, port: int | None = None) -> Server:
    """postgres_exporter as the compose stack runs it: DATA_SOURCE_URI/USER/PASS_FILE, over TCP with a password."""
    port = port or free_port()
    argv = [require("prometheus-postgres-exporter"), f"--web.listen-address={HOST}:{port}", "--log.level=warn"]
    if queries is not None:
        argv.append(f"--extend.query-path={queries}")
    env = _clean_env(
        DATA_SOURCE_URI=f"{pg.address}/sergas?sslmode=disable",
        DATA_SOURCE_USER=user,
        DATA_SOURCE_PASS_FILE=str(password_file),
    )
    return Server(name, argv, port, workdir / f"{name}.log", env=env)


def redis_exporter(workdir: Path, redis: Server) -> Server:
    port = free_port()
    argv = [require("prometheus-redis-exporter"), f"--redis.addr=redis://{HOST}:{redis.port}",
            f"--web.listen-address={HOST}:{port}"]
    return Server("redis-exporter", argv, port, workdir / "redis-exporter.log", env=_clean_env())


def node_exporter(workdir: Path) -> Server:
    """node_exporter with its default collectors; the textfile collector reads an empty directory of ours, not the host's."""
    port = free_port()
    textfiles = workdir / "node-textfiles"
    textfiles.mkdir(parents=True, exist_ok=True)
    argv = [require("prometheus-node-exporter"), f"--web.listen-address={HOST}:{port}",
            f"--collector.textfile.directory={textfiles}", "--log.level=warn"]
    return Server("node-exporter", argv, port, workdir / "node-exporter.log", env=_clean_env())


def blackbox_exporter(workdir: Path, config: Path) -> Server:
    port = free_port()
    argv = [require("prometheus-blackbox-exporter"), f"--config.file={config}",
            f"--web.listen-address={HOST}:{port}", "--log.level=warn"]
    return Server("blackbox-exporter", argv, port, workdir / "blackbox-exporter.log", env=_clean_env())


# --- a small real disk ------------------------------------------------------------------


@dataclass
class LoopDisk:
    """An ext4 image loop-mounted under a temporary directory (node_exporter sees it in /proc/mounts)."""

    root: Path
    size_mb: int = 32
    mounted: bool = False

    @property
    def image(self) -> Path:
        return self.root / "disk.img"

    @property
    def mountpoint(self) -> Path:
        return self.root / "mnt"

    @property
    def filler(self) -> Path:
        return self.mountpoint / "filler"

    def mount(self) -> "LoopDisk":
        self.mountpoint.mkdir(parents=True, exist_ok=True)
        subprocess.run(["truncate", "-s", f"{self.size_mb}M", str(self.image)], check=True)
        mkfs = subprocess.run([require("mkfs.ext4"), "-q", "-F", "-m", "0", str(self.image)], capture_output=True, text=True)
        if mkfs.returncode != 0:
            raise AssertionError(f"mkfs.ext4 failed: {mkfs.stderr.strip()} ({INSTALL})")
        done = subprocess.run(["mount", "-o", "loop", str(self.image), str(self.mountpoint)], capture_output=True, text=True)
        if done.returncode != 0:
            raise AssertionError(
                f"cannot loop-mount an ext4 image ({done.stderr.strip()}): DiskSpaceLow needs a real filesystem; "
                "run as root with loop devices available"
            )
        self.mounted = True
        return self

    def fraction_free(self) -> float:
        stat = os.statvfs(self.mountpoint)
        return stat.f_bavail / stat.f_blocks

    def fill(self, leave: float = 0.05) -> None:
        """Take all but `leave` of the space with one preallocated file."""
        stat = os.statvfs(self.mountpoint)
        take = stat.f_bavail * stat.f_frsize - int(leave * stat.f_blocks * stat.f_frsize)
        subprocess.run([require("fallocate"), "-l", str(take), str(self.filler)], check=True)

    def empty(self) -> None:
        self.filler.unlink(missing_ok=True)

    def unmount(self) -> None:
        if self.mounted:
            done = subprocess.run(["umount", str(self.mountpoint)], capture_output=True, text=True)
            if done.returncode != 0:  # busy: detach now, the kernel frees it when the last user goes
                subprocess.run(["umount", "-l", str(self.mountpoint)], capture_output=True)
            self.mounted = False
