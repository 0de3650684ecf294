"""Scrape a real process and read its exposition."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterable

from prometheus_client.parser import text_string_to_metric_families

from e2e.servers import free_port  # noqa: F401 (one allocator for every live test)
from sergas_observability import toolchain

Series = tuple[str, frozenset[tuple[str, str]]]


def get(url: str, method: str = "GET", timeout: float = 10.0) -> tuple[int, str]:
    request = urllib.request.Request(url, method=method, data=b"" if method in ("POST", "PUT") else None)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def scrape(url: str, wait: float = 10.0) -> str:
    """The exposition at `url`, retrying while the server comes up."""
    deadline = time.monotonic() + wait
    while True:
        try:
            status, body = get(url)
            if status == 200:
                return body
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing served at {url}")
        time.sleep(0.05)


def samples(exposition: str) -> dict[Series, float]:
    """Every sample by (series name, label set)."""
    found: dict[Series, float] = {}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: dict[Series, float], name: str, **labels: str) -> float:
    """The sample with exactly these labels (0 when absent: counters start there)."""
    return found.get((name, frozenset(labels.items())), 0.0)


def total(found: dict[Series, float], name: str, **labels: str) -> float:
    """Sum over the samples of `name` whose labels include these."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in found.items() if n == name and wanted <= ls)


def label_values(found: Iterable[Series], label: str) -> set[str]:
    return {value for _name, labels in found for name, value in labels if name == label}


def promtool_check_metrics(exposition: str) -> str:
    """promtool's complaints about an exposition ('' when clean), judged by exit code and output."""
    proc = toolchain.run("promtool", ["check", "metrics"], stdin=exposition)
    output = (proc.stdout + proc.stderr).strip()
    if proc.returncode != 0 and not output:
        output = f"promtool exited {proc.returncode}"
    return output
