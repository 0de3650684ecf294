"""The real mypy over example application code: wrong label names and values are type errors."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ROOT / "generated" / "python"

GOOD = '''
import asyncio
import sergas_metrics as m
from sergas_metrics import Agent, track

m.http_requests_total.inc(method="GET", route="/api/accounts/{id}", status="200")
m.http_request_duration_seconds.observe(0.2, method="POST", route="/api/briefs", status="201")
m.sergas_approval_timeouts_total.inc()
m.sergas_approval_queue_depth.set(3)
m.sergas_subagents_active.inc(subagent="memory_analyst")
child = m.sergas_zoho_api_calls_total.labels(tier="mcp", outcome="error")
child.inc()
m.sergas_zoho_failover_events_total.inc(from_tier="mcp", to_tier="sdk")
with m.sergas_sse_connections_active.labels(stream="approvals").track_in_progress():
    pass

def run(agent: Agent) -> None:
    m.sergas_agent_executions_total.inc(agent=agent, outcome="success")

@track(m.sergas_agent_executions_total, m.sergas_agent_execution_duration_seconds, agent="orchestrator")
async def orchestrate(account: str) -> str:
    return account

result: str = asyncio.run(orchestrate("acme"))
'''

BAD = '''
import sergas_metrics as m

m.sergas_agent_executions_total.inc(agnet="orchestrator", outcome="success")
m.sergas_agent_executions_total.inc(agent="orchestrater", outcome="success")
m.sergas_agent_executions_total.inc(agent="orchestrator")
m.sergas_zoho_api_calls_total.labels(tier="soap", outcome="success")
m.http_requests_total.inc(method="GET", route="/", status=200)
m.sergas_approval_timeouts_total.set(1)
'''


def mypy(tmp_path: Path, source: str) -> tuple[int, list[str]]:
    example = tmp_path / "example_app.py"
    example.write_text(textwrap.dedent(source))
    # An editable install is an import hook mypy cannot follow: point it at the sources.
    env = dict(os.environ, MYPYPATH=os.pathsep.join([str(GENERATED), str(ROOT)]))
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--no-error-summary", "--hide-error-context",
         "--cache-dir", str(tmp_path / "cache"), str(example)],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )
    errors = [line.split(": error: ", 1)[1] for line in proc.stdout.splitlines() if ": error: " in line]
    return proc.returncode, errors



def test_correct_use_type_checks_clean_under_strict(tmp_path):
    code, errors = mypy(tmp_path, GOOD)
    assert errors == [] and code == 0


def test_wrong_names_values_and_types_are_reported(tmp_path):
    code, errors = mypy(tmp_path, BAD)
    assert code == 1
    expected = [
        r'Unexpected keyword argument "agnet" for "inc" of "SergasAgentExecutionsTotal"; did you mean "agent"\?',
        r'Argument "agent" to "inc" of "SergasAgentExecutionsTotal" has incompatible type "Literal\[\'orchestrater\'\]"; '
        r'expected "Literal\[\'orchestrator\', \'zoho_data_scout\', \'memory_analyst\', \'recommendation_author\'\]"',
        r'Missing named argument "outcome" for "inc" of "SergasAgentExecutionsTotal"',
        r'Argument "tier" to "labels" of "SergasZohoApiCallsTotal" has incompatible type "Literal\[\'soap\'\]"',
        r'Argument "status" to "inc" of "HttpRequestsTotal" has incompatible type "int"; expected "str"',
        r'"SergasApprovalTimeoutsTotal" has no attribute "set"',
    ]
    for pattern in expected:
        assert any(re.match(pattern, error) for error in errors), f"mypy did not report {pattern!r}; it said {errors}"
    assert len(errors) == len(expected), errors  # one error per wrong line, nothing else
