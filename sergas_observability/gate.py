"""The rollout gate: is the candidate deployment healthy? Asked of a real Prometheus.

Reads the gate spec the rollout compiler writes (prometheus/rollouts/<name>.json)
and judges one step at a time. Per check, over the step's window (its
monitoring time):

- undecided: the candidate has fewer than `min_events` events;
- fail: its error ratio is above `max_error_ratio` (the objective's budget
  times max_burn), or above the baseline's by more than `margin` (when the
  baseline has `min_events` events of its own; else it is judged against
  the objective alone, as at the 100 % step where the baseline is drained);
- pass otherwise.

A step passes when every check passes; it fails when any check fails, and is
undecided otherwise. Only the standard library: a deploy host needs nothing
else to run it.
"""

from __future__ import annotations

import base64
import json
import math
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PASS, FAIL, UNDECIDED = "pass", "fail", "undecided"
EXIT_CODES = {PASS: 0, FAIL: 1, UNDECIDED: 3}
EXIT_UNASKED = 4  # Prometheus could not be asked, or its answer is unusable
_RANK = {PASS: 0, UNDECIDED: 1, FAIL: 2}


class GateError(Exception):
    """The spec or the arguments cannot be used (exit 2)."""


class PrometheusError(Exception):
    """Prometheus could not be asked, or its answer is unusable (exit 4)."""


def load_spec(path: Path) -> dict[str, Any]:
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GateError(f"no gate spec {path} (run `sergas-obs generate`: it writes prometheus/rollouts/<rollout>.json)") from None
    except (OSError, ValueError) as exc:
        raise GateError(f"{path}: not a gate spec ({exc})") from None
    missing = [key for key in ("rollout", "deployment_label", "deployments", "steps", "checks", "window_token") if key not in spec]
    if missing:
        raise GateError(f"{path}: not a gate spec (no {', '.join(missing)})")
    return spec  # type: ignore[no-any-return]


class Prometheus:
    """Instant queries to a Prometheus HTTP API, with optional bearer or basic auth read from files."""

    def __init__(self, url: str, bearer_token_file: Path | None = None, basic_auth_file: Path | None = None, timeout: float = 10.0):
        parsed = urllib.parse.urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise GateError(f"--prometheus {url!r} is not an http(s) URL")
        self.url, self.timeout = url.rstrip("/"), timeout
        self.headers: dict[str, str] = {}
        if bearer_token_file is not None:
            self.headers["Authorization"] = f"Bearer {_secret(bearer_token_file)}"
        if basic_auth_file is not None:
            pair = _secret(basic_auth_file)
            if ":" not in pair:
                raise GateError(f"{basic_auth_file}: write the credentials as user:password on one line")
            self.headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()

    def query(self, expr: str) -> list[tuple[dict[str, str], float]]:
        data = urllib.parse.urlencode({"query": expr}).encode()
        request = urllib.request.Request(f"{self.url}/api/v1/query", data=data, headers=self.headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:300]
            raise PrometheusError(f"{self.url}: HTTP {exc.code} {detail}".strip()) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise PrometheusError(f"{self.url}: {getattr(exc, 'reason', exc)}") from None
        if body.get("status") != "success" or body.get("data", {}).get("resultType") != "vector":
            raise PrometheusError(f"{self.url}: unexpected answer to {expr!r}: {str(body)[:300]}")
        return [(item["metric"], float(item["value"][1])) for item in body["data"]["result"]]


def _secret(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise GateError(f"cannot read {path}: {exc.strerror}") from None


@dataclass
class CheckResult:
    name: str
    verdict: str
    reason: str
    candidate_events: float
    candidate_error_ratio: float | None
    baseline_events: float
    baseline_error_ratio: float | None
    max_error_ratio: float
    margin: float
    min_events: int


@dataclass
class StepResult:
    step: int
    traffic_percent: float
    window: str
    candidate: str
    baseline: str
    verdict: str
    checks: list[CheckResult] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def worst(verdicts: Iterable[str]) -> str:
    return max(verdicts, key=_RANK.__getitem__, default=PASS)


def step_of(spec: dict[str, Any], number: int) -> dict[str, Any]:
    steps = spec["steps"]
    if not 1 <= number <= len(steps):
        raise GateError(f"rollout {spec['rollout']} has steps 1..{len(steps)}, not {number}")
    return steps[number - 1]  # type: ignore[no-any-return]


def window_text(seconds: float) -> str:
    """A PromQL duration of whole seconds (at least 1s)."""
    return f"{max(1, math.ceil(seconds))}s"


def judge(spec: dict[str, Any], prometheus: Prometheus, step: dict[str, Any], candidate: str, baseline: str,
          window_seconds: float | None = None) -> StepResult:
    """The verdict of `step` now, over its monitoring time (or `window_seconds`)."""
    seconds = float(step["monitor_seconds"] if window_seconds is None else window_seconds)
    window = window_text(seconds)
    label, token = spec["deployment_label"], spec["window_token"]
    result = StepResult(step["step"], step["traffic_percent"], window, candidate, baseline, PASS)
    for check in spec["checks"]:
        counts = {}
        for kind in ("bad", "total"):
            per_second = prometheus.query(check[f"{kind}_per_second"].replace(token, window))
            counts[kind] = {labels.get(label, ""): value * seconds for labels, value in per_second}
        result.checks.append(_judge_check(check, counts, candidate, baseline))
    result.verdict = worst(c.verdict for c in result.checks)
    return result


def _ratio(counts: dict[str, dict[str, float]], deployment: str) -> tuple[float, float | None]:
    total = counts["total"].get(deployment, 0.0)
    bad = counts["bad"].get(deployment, 0.0)
    return total, (bad / total if total > 0 else None)


def _judge_check(check: dict[str, Any], counts: dict[str, dict[str, float]], candidate: str, baseline: str) -> CheckResult:
    events, ratio = _ratio(counts, candidate)
    base_events, base_ratio = _ratio(counts, baseline)
    limit, margin, needed = check["max_error_ratio"], check["margin"], check["min_events"]

    def result(verdict: str, reason: str) -> CheckResult:
        return CheckResult(check["name"], verdict, reason, round(events, 3), ratio, round(base_events, 3), base_ratio, limit, margin, needed)

    if events < needed or ratio is None:
        return result(UNDECIDED, f"{candidate} has {events:.0f} events, fewer than the {needed} a verdict needs")
    if ratio > limit:
        return result(FAIL, f"{candidate}'s error ratio {_pct(ratio)} is above {_pct(limit)} ({check['source']}, objective {check['objective_percent']:g}%)")
    if base_ratio is not None and base_events >= needed:
        if ratio > base_ratio + margin:
            return result(FAIL, f"{candidate}'s error ratio {_pct(ratio)} is above {baseline}'s {_pct(base_ratio)} + {_pct(margin)}")
        return result(PASS, f"{candidate} {_pct(ratio)} over {events:.0f} events; {baseline} {_pct(base_ratio)}; limit {_pct(limit)}")
    return result(PASS, f"{candidate} {_pct(ratio)} over {events:.0f} events, within {_pct(limit)}; {baseline} has too few events to compare ({base_events:.0f})")


def _pct(share: float) -> str:
    return f"{share * 100:.3g}%"


def watch(spec: dict[str, Any], prometheus: Prometheus, step: dict[str, Any], candidate: str, baseline: str,
          progress: Callable[[float, StepResult], None], poll: float = 15.0) -> StepResult:
    """Hold for the step's monitoring time, judging what has been seen so far every `poll` seconds.

    A check that fails on enough events ends the wait at once (a bad candidate
    is sent back as soon as it shows); otherwise the verdict is the one over
    the whole monitoring time."""
    total = float(step["monitor_seconds"])
    start = time.monotonic()
    while True:
        elapsed = time.monotonic() - start
        if elapsed >= total:
            return judge(spec, prometheus, step, candidate, baseline)
        if elapsed >= min(poll, total):
            interim = judge(spec, prometheus, step, candidate, baseline, window_seconds=elapsed)
            progress(elapsed, interim)
            if interim.verdict == FAIL:
                return interim
        time.sleep(max(0.0, min(poll, total - elapsed)))


def render_text(result: StepResult) -> str:
    lines = [f"step {result.step} ({result.traffic_percent:g}% to {result.candidate}, window {result.window}): {result.verdict.upper()}"]
    for check in result.checks:
        lines.append(f"  {check.name}: {check.verdict} - {check.reason}")
    return "\n".join(lines)
