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


def test_server_that_cannot_start_reports_its_log(tmp_path: Path) -> None:
    config = tmp_path / "prometheus.yml"
    config.write_text("scrape_configs: [{job_name: x, no_such_field: 1}]\n")
    process = servers.prometheus(config, tmp_path)
    with pytest.raises(AssertionError, match=r"(?s)prometheus exited with \d+ at start:.*no_such_field"):
        process.start("/-/ready", timeout=15)
    assert not process.running
