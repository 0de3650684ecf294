"""The harness fails loudly: a missing server or a server that will not start is an error with its cause."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from . import servers


def test_missing_binary_is_a_failure_naming_the_install_command() -> None:
    with pytest.raises(AssertionError, match="sergas-no-such-server is not installed: apt-get install"):
        servers.require_binary("sergas-no-such-server")


def test_free_port_is_free_on_loopback() -> None:
    port = servers.free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((servers.HOST, port))  # raises if something holds it


def test_free_ports_are_never_handed_out_twice_nor_shared_between_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    ephemeral_from = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    handed: dict[str, set[int]] = {}
    for worker in ("gw0", "gw1", "gw3"):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
        handed[worker] = {servers.free_port() for _ in range(20)}
        assert len(handed[worker]) == 20  # each port once
    assert not handed["gw0"] & handed["gw1"] and not handed["gw1"] & handed["gw3"] and not handed["gw0"] & handed["gw3"]
    assert max(max(ports) for ports in handed.values()) < ephemeral_from  # where client sockets never land


def test_server_that_cannot_start_reports_its_log(tmp_path: Path) -> None:
    config = tmp_path / "prometheus.yml"
    config.write_text("scrape_configs: [{job_name: x, no_such_field: 1}]\n")
    process = servers.prometheus(config, tmp_path)
    with pytest.raises(AssertionError, match=r"(?s)prometheus exited with \d+ at start:.*no_such_field"):
        process.start("/-/ready", timeout=15)
    assert not process.running
