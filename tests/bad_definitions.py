"""A clean, complete definitions file, and the table of the mistakes people make in it.

Every definition of `GOOD` sits on its own line, so an expected error names
the line by the variable the definition is assigned to. A case is a list of
edits to `GOOD` (old text, new text) and the exact lines generate must print:
(marker, message), the line being the first line of the edited file that
contains `marker`.
"""

from __future__ import annotations

GOOD = '''\
from sergas_observability.model import *

requests = Metric(name="demo_requests_total", kind="counter", help="Requests.", labels=(Label(name="status", values=("200", "500")), Label(name="route", values=("/a", "/b"))))
latency = Metric(name="demo_request_duration_seconds", kind="histogram", unit="seconds", help="Latency.", labels=(Label(name="route", values=("/a", "/b")),), buckets=(0.1, 0.5, 1.0))
queue = Metric(name="demo_queue_depth", kind="gauge", help="Queue depth.")
pg_up = Metric(name="pg_up", kind="gauge", help="PostgreSQL reachable.", exporter="postgres_exporter")
production = Environment(name="production", external_labels={"env": "production"}, alertmanagers=("alertmanager:9093",))
staging = Environment(name="staging", external_labels={"env": "staging"}, alertmanagers=("alertmanager:9093",), paging=False)
app_job = ScrapeJob(name="demo", targets={"production": ("demo:8000",), "staging": ("demo-staging:8000",)})
pg_job = ScrapeJob(name="postgres", exporter="postgres_exporter", targets={"production": ("pg:9187",)})
probe = BlackboxProbe(name="health", module="http_2xx", targets={"production": ("http://demo:8000/health",)}, exporter_address={"production": "blackbox:9115"})
slack = SlackReceiver(name="slack", api_url_file="/run/secrets/slack", channel="#alerts")
pager = PagerDutyReceiver(name="pager", routing_key_file="/run/secrets/pagerduty")
mail = EmailReceiver(name="mail", to="oncall@example.com", from_address="alertmanager@example.com", smarthost="smtp.example.com:587")
p0 = Severity(name="P0", description="Page.", receivers=("pager", "slack"), group_wait="10s", inhibits=("P1",))
p1 = Severity(name="P1", description="Ticket.", receivers=("slack", "mail"))
down = Alert(name="DemoDown", expr='up{job="demo"} == 0', for_="1m", severity="P0", service="demo", summary="Demo is down.", description="{{ $labels.instance }} is down.", runbook_url="https://runbooks.example.com/demo#down", dashboard="demo-overview", test=AlertTest(firing=AlertScenario(series={'up{job="demo", instance="demo:8000"}': "0x10"}, labels={"job": "demo", "instance": "demo:8000"}, value=0), quiet=AlertScenario(series={'up{job="demo", instance="demo:8000"}': "1x10"})))
backlog = Alert(name="DemoQueueBacklog", expr="max(demo_queue_depth) > 100", for_="10m", severity="P1", service="demo", summary="The queue is backed up.", description="{{ $value }} jobs waiting.", runbook_url="https://runbooks.example.com/demo#queue", dashboard="demo-overview")
rule = RecordingRule(record="job:demo_requests:rate5m", expr="sum by (job) (rate(demo_requests_total[5m]))")
panel = Panel(title="Requests", queries=("sum(rate(demo_requests_total[$__rate_interval]))",), unit="reqps")
health = Panel(title="Up and queue", queries=('up{job="demo"}', "max(demo_queue_depth)"), unit="short")
board = Dashboard(title="Demo overview", uid="demo-overview", rows=(Row(title="Traffic", panels=(panel, health)),))
availability = SLO(service="demo", name="availability", objective=99.5, sli=RatioSLI(bad='demo_requests_total{status="500"}', total="demo_requests_total"), runbook_url="https://runbooks.example.com/demo#availability")
speed = SLO(service="demo", name="latency", objective=95.0, sli=LatencySLI(histogram="demo_request_duration_seconds", threshold=0.5), runbook_url="https://runbooks.example.com/demo#latency")

stack = Stack(name="demo", environments=(production, staging), metrics=(requests, latency, queue, pg_up), scrape_jobs=(app_job, pg_job), probes=(probe,), receivers=(slack, pager, mail), severities=(p0, p1), default_receiver="slack", slo_page_severity="P0", slo_ticket_severity="P1", alerts=(down, backlog), recording_rules=(rule,), dashboards=(board,), slos=(availability, speed))
'''

Edit = tuple[str, str]
Expected = tuple[str, str]  # (marker of the line, the rest of the error line after "error: demo_defs.py:<line>: ")

S = "stack = Stack("
EXTRA = "\nstack = Stack("  # insert a definition on its own line before the Stack
RUNBOOK = '''book = Runbook(name="demo", url="https://runbooks.example.com/demo", sections=("down", "queue", "availability", "latency"))'''


# Two SLOs whose rule files are both slo-demo-latency-x.yml.
X1 = """x1 = SLO(service="demo", name="latency-x", objective=99.0, sli=RatioSLI(bad='demo_requests_total{status="500"}', total="demo_requests_total"), runbook_url="https://runbooks.example.com/x1")"""
X2 = """x2 = SLO(service="demo-latency", name="x", objective=99.0, sli=RatioSLI(bad='demo_requests_total{status="500"}', total="demo_requests_total"), runbook_url="https://runbooks.example.com/x2")"""


def add(line: str, to: str, item: str) -> list[Edit]:
    """Insert `line` before the Stack and append `item` to the Stack's tuple `to`."""
    return [(EXTRA, "\n" + line + EXTRA), (f"{to}=(", f"{to}=({item}, ")]


# (case id, edits, expected error lines, the rule each line is of)
CASES: list[tuple[str, list[Edit], list[Expected], list[str]]] = [
    # -- a definition's own fields -------------------------------------------------------
    ("runbook section typo", [(EXTRA, "\n" + RUNBOOK + EXTRA), ("slos=(availability, speed))", "slos=(availability, speed), runbooks=(book,))"),
                              ("demo#down", "demo#dwon")],
     [("down = ", "Alert 'DemoDown' field 'runbook_url': runbook 'demo' has no section 'dwon' (did you mean 'down'?) (its sections: down, queue, availability, latency)")],
     ["stack/unknown-runbook"]),
    ("runbook not declared", [(EXTRA, "\n" + RUNBOOK + EXTRA), ("slos=(availability, speed))", "slos=(availability, speed), runbooks=(book,))"),
                              ('runbook_url="https://runbooks.example.com/demo#queue"', 'runbook_url="https://wiki.example.com/demo#queue"')],
     [("backlog = ", "Alert 'DemoQueueBacklog' field 'runbook_url': 'https://wiki.example.com/demo' is no declared runbook (did you mean 'https://runbooks.example.com/demo'?) (Stack.runbooks)")],
     ["stack/unknown-runbook"]),
    ("misspelt field", [('runbook_url="https://runbooks.example.com/demo#down"', 'runbook="https://runbooks.example.com/demo#down"')],
     [("down = ", "Alert 'DemoDown' field 'runbook': unknown field (did you mean 'runbook_url'?)")], ["definition/invalid"]),
    ("missing for", [('for_="1m", severity="P0"', 'severity="P0"')],
     [("down = ", "Alert 'DemoDown' field 'for': Field required")], ["definition/invalid"]),
    ("for as text", [('for_="1m"', 'for_="5 minutes"')],
     [("down = ", "Alert 'DemoDown' field 'for': '5 minutes' is not a Prometheus duration (e.g. 30s, 5m, 1h30m)")], ["definition/invalid"]),
    ("for 0h without reason", [('for_="1m"', 'for_="0h"')],
     [("down = ", "Alert 'DemoDown' field 'for': an alert without 'for' must say why in no_for_reason")], ["definition/invalid"]),
    ("for 0ms without reason", [('for_="1m"', 'for_="0ms"')],
     [("down = ", "Alert 'DemoDown' field 'for': an alert without 'for' must say why in no_for_reason")], ["definition/invalid"]),
    ("summary without full stop", [('summary="Demo is down."', 'summary="Demo is down"')],
     [("down = ", "Alert 'DemoDown' field 'summary': summary must be one sentence ending with '.'")], ["definition/invalid"]),
    ("alert name not CamelCase", [('name="DemoDown"', 'name="demo_down"')],
     [("down = ", "Alert 'demo_down' field 'name': alert name 'demo_down' must be CamelCase")], ["definition/invalid"]),
    ("invalid PromQL", [("""expr='up{job="demo"} == 0'""", """expr='up{job="demo" == 0'""")],
     [("down = ", """Alert 'DemoDown' field 'expr': invalid PromQL (unexpected character inside braces: '0'): up{job="demo" == 0""")], ["definition/invalid"]),
    ("runbook not a URL", [('runbook_url="https://runbooks.example.com/demo#down"', 'runbook_url="runbooks/demo.md"')],
     [("down = ", "Alert 'DemoDown' field 'runbook_url': 'runbooks/demo.md' is not an http(s) URL")], ["definition/invalid"]),
    ("severity set in labels", [('service="demo", summary="Demo is down."', 'service="demo", labels={"severity": "P1"}, summary="Demo is down."')],
     [("down = ", "Alert 'DemoDown' field 'labels': label 'severity' is set by its own field, not in labels")], ["definition/invalid"]),
    ("two mistakes in one alert", [('name="DemoDown"', 'name="demo_down"'), ('summary="Demo is down."', 'summary="Demo is down"')],
     [("down = ", "Alert 'demo_down' field 'name': alert name 'demo_down' must be CamelCase"),
      ("down = ", "Alert 'demo_down' field 'summary': summary must be one sentence ending with '.'")], ["definition/invalid"] * 2),
    ("counter without _total", add('errors = Metric(name="demo_errors", kind="counter", help="Errors.")', "metrics", "errors"),
     [("errors = ", "Metric 'demo_errors' field 'name': counter 'demo_errors' must end with _total")], ["definition/invalid"]),
    ("gauge ending in _total", add('workers = Metric(name="demo_workers_total", kind="gauge", help="Workers.")', "metrics", "workers"),
     [("workers = ", "Metric 'demo_workers_total' field 'name': only counters may end with _total ('demo_workers_total' is a gauge)")], ["definition/invalid"]),
    ("unit not in the name", [('kind="gauge", help="Queue depth."', 'kind="gauge", unit="seconds", help="Queue depth."')],
     [("queue = ", "Metric 'demo_queue_depth' field 'name': 'demo_queue_depth' declares unit 'seconds' so its name must end with _seconds")], ["definition/invalid"]),
    ("reserved label", [('help="Queue depth.")', 'help="Queue depth.", labels=("instance",))')],
     [("queue = ", "Metric 'demo_queue_depth' field 'labels': label 'instance' is reserved (added by Prometheus or the scrape)")], ["definition/invalid"]),
    ("buckets on a gauge", [('help="Queue depth.")', 'help="Queue depth.", buckets=(1.0, 2.0))')],
     [("queue = ", "Metric 'demo_queue_depth' field 'buckets': buckets only apply to histograms")], ["definition/invalid"]),
    ("buckets not increasing", [("buckets=(0.1, 0.5, 1.0)", "buckets=(0.5, 0.1, 1.0)")],
     [("latency = ", "Metric 'demo_request_duration_seconds' field 'buckets': buckets must be strictly increasing")], ["definition/invalid"]),
    ("empty help", [('help="Queue depth."', 'help=" "')],
     [("queue = ", "Metric 'demo_queue_depth' field 'help': help text is required")], ["definition/invalid"]),
    ("label values repeat", [('values=("200", "500")', 'values=("200", "200")')],
     [("requests = ", "Label 'status' field 'values': values repeat")], ["definition/invalid"]),
    ("inline secret", [('api_url_file="/run/secrets/slack"', 'api_url="https://hooks.slack.com/x"')],
     [("slack = ", "Receiver 'slack': inline secret 'api_url' is not allowed: write it to a file and set 'api_url_file' to its path")], ["definition/invalid"]),
    ("relative secret path", [('routing_key_file="/run/secrets/pagerduty"', 'routing_key_file="secrets/pagerduty"')],
     [("pager = ", "Receiver 'pager' field 'routing_key_file': 'secrets/pagerduty' must be an absolute path to a file holding the secret")], ["definition/invalid"]),
    ("slack channel without #", [('channel="#alerts"', 'channel="alerts"')],
     [("slack = ", "Receiver 'slack' field 'channel': channel must start with '#' or '@'")], ["definition/invalid"]),
    ("not an e-mail address", [('to="oncall@example.com"', 'to="oncall"')],
     [("mail = ", "Receiver 'mail' field 'to': 'oncall' is not an e-mail address")], ["definition/invalid"]),
    ("severity without receivers", [('receivers=("slack", "mail"))', 'receivers=())')],
     [("p1 = ", "Severity 'P1' field 'receivers': a severity must reach at least one receiver")], ["definition/invalid"]),
    ("severity inhibits itself", [('inhibits=("P1",)', 'inhibits=("P0", "P1")')],
     [("p0 = ", "Severity 'P0' field 'inhibits': a severity cannot inhibit itself")], ["definition/invalid"]),
    ("repeat shorter than group interval", [('receivers=("slack", "mail"))', 'receivers=("slack", "mail"), repeat_interval="1m")')],
     [("p1 = ", "Severity 'P1' field 'repeat_interval': repeat_interval is shorter than group_interval")], ["definition/invalid"]),
    ("no env external label", [('external_labels={"env": "staging"}', 'external_labels={"stage": "staging"}')],
     [("staging = ", "Environment 'staging' field 'external_labels': external_labels must set 'env' so every series and alert says where it comes from")], ["definition/invalid"]),
    ("scrape timeout over interval", [('paging=False)', 'paging=False, scrape_timeout="30s")')],
     [("staging = ", "Environment 'staging' field 'scrape_timeout': scrape_timeout 30s is longer than scrape_interval 15s")], ["definition/invalid"]),
    ("job name with capitals", [('name="postgres", exporter', 'name="Postgres", exporter')],
     [("pg_job = ", "ScrapeJob 'Postgres' field 'name': job name 'Postgres' must be lower-case letters, digits, '-' or '_'")], ["definition/invalid"]),
    ("relative metrics path", [('exporter="postgres_exporter", targets', 'exporter="postgres_exporter", metrics_path="metrics", targets')],
     [("pg_job = ", "ScrapeJob 'postgres' field 'metrics_path': metrics_path must start with '/'")], ["definition/invalid"]),
    ("environment without targets", [('targets={"production": ("pg:9187",)}', 'targets={"production": ("pg:9187",), "staging": ()}')],
     [("pg_job = ", "ScrapeJob 'postgres' field 'targets': environment 'staging' lists no targets; leave it out instead")], ["definition/invalid"]),
    ("probe without exporter address", [('exporter_address={"production": "blackbox:9115"}', 'exporter_address={}')],
     [("probe = ", "BlackboxProbe 'health' field 'exporter_address': no exporter_address for environment 'production'")], ["definition/invalid"]),
    ("record name", [('record="job:demo_requests:rate5m"', 'record="demo_requests_rate5m"')],
     [("rule = ", "RecordingRule 'demo_requests_rate5m' field 'record': record 'demo_requests_rate5m' must follow level:metric:operations")], ["definition/invalid"]),
    ("panel without unit", [('unit="reqps"', 'unit=""')],
     [("panel = ", "Panel 'Requests' field 'unit': every panel needs a unit (Grafana unit id, e.g. 's', 'percentunit', 'reqps', 'short')")], ["definition/invalid"]),
    ("dashboard uid", [('uid="demo-overview"', 'uid="demo overview"'), ('*dashboard="demo-overview"', 'dashboard="demo overview"')],
     [("board = ", "Dashboard 'demo overview' field 'uid': uid 'demo overview' must be 1-40 characters of letters, digits, '-' or '_'")], ["definition/invalid"]),
    ("objective 100", [("objective=99.5", "objective=100")],
     [("availability = ", "SLO 'availability' field 'objective': 100.0 is not a percentage in (0, 100), e.g. 99.5")], ["definition/invalid"]),
    ("SLO service not a slug", [('service="demo", name="latency"', 'service="Demo", name="latency"')],
     [("speed = ", "SLO 'latency' field 'service': 'Demo' must be lower-case letters, digits, '-' or '_'")], ["definition/invalid"]),
    ("SLO window in the SLI", [("""bad='demo_requests_total{status="500"}'""", """bad='rate(demo_requests_total{status="500"}[5m])'""")],
     [("availability = ", """SLO 'availability' field 'sli.bad': 'rate(demo_requests_total{status="500"}[5m])' must be a plain selector such as http_requests_total{status=~"5.."} (no rate(), no window)""")], ["definition/invalid"]),
    ("SLO grouped by a label its metric lacks", [("objective=99.5, sli=RatioSLI", 'objective=99.5, group_by=("tenant",), sli=RatioSLI')],
     [("availability = ", "SLO 'availability' field 'group_by': 'demo_requests_total' has no label 'tenant' to group by")], ["stack/unknown-reference"]),
    ("grouped SLO summing two selectors", [("objective=99.5, sli=RatioSLI(bad='demo_requests_total{status=\"500\"}'", "objective=99.5, group_by=(\"route\",), sli=RatioSLI(bad=('demo_requests_total{status=\"500\"}', 'demo_requests_total{status=\"503\"}')")],
     [("availability = ", "SLO 'availability' field 'sli.bad': an SLO grouped by a label reads one selector per field (sums of several would drop groups)")], ["definition/invalid"]),
    ("SLO latency on _bucket", [('histogram="demo_request_duration_seconds"', 'histogram="demo_request_duration_seconds_bucket"')],
     [("speed = ", "SLO 'latency' field 'sli.histogram': name the histogram family ('demo_request_duration_seconds'), not one of its series")], ["definition/invalid"]),
    ("SLO period shorter than a window", [("objective=95.0,", 'objective=95.0, period="2d",')],
     [("speed = ", "SLO 'latency' field 'period': period 2d is shorter than the longest alert window 3d")], ["definition/invalid"]),
    ("SLO label owned by the compiler", [("objective=95.0,", 'objective=95.0, labels={"slo": "x"},')],
     [("speed = ", "SLO 'latency' field 'labels': label 'slo' is set by the SLO compiler")], ["definition/invalid"]),
    ("tier with rate and share", [("objective=95.0,", 'objective=95.0, tiers=(BurnRateTier(long="1h", short="5m", action="page", burn_rate=14.4, budget_spent=0.02),),')],
     [("speed = ", "BurnRateTier field 'budget_spent': give budget_spent or burn_rate, not both or neither")], ["definition/invalid"]),
    ("for as a number", [('for_="1m"', "for_=5")],
     [("down = ", "Alert 'DemoDown' field 'for': 5 is not a Prometheus duration: write a string such as '5m' or '1h30m'")], ["definition/invalid"]),
    ("unknown metric kind", [('kind="gauge", help="Queue depth."', 'kind="gage", help="Queue depth."')],
     [("queue = ", "Metric 'demo_queue_depth' field 'kind': Input should be 'counter', 'gauge', 'histogram' or 'summary'")], ["definition/invalid"]),
    ("objective as text", [("objective=99.5", 'objective="99.5%"')],
     [("availability = ", "SLO 'availability' field 'objective': Input should be a valid number, unable to parse string as a number")], ["definition/invalid"]),
    ("SLI as a plain dict", [('sli=LatencySLI(histogram="demo_request_duration_seconds", threshold=0.5)', 'sli={"histogram": "demo_request_duration_seconds", "threshold": 0.5}')],
     [("speed = ", "SLO 'latency' field 'sli': expected RatioSLI(...), LatencySLI(...) or ProbeSLI(...)")], ["definition/invalid"]),
    ("a tuple of one without its comma", [("probes=(probe,)", "probes=(probe)")],
     [(S, "Stack 'demo' field 'probes': expected a tuple, got one BlackboxProbe 'health': a tuple of one needs a trailing comma, (x,)")], ["definition/invalid"]),
    ("a string for a tuple", [('alertmanagers=("alertmanager:9093",), paging=False', 'alertmanagers="alertmanager:9093", paging=False')],
     [("staging = ", "Environment 'staging' field 'alertmanagers': Input should be a valid tuple: a tuple of one needs a trailing comma, ('alertmanager:9093',)")], ["definition/invalid"]),
    ("misspelt Stack field", [("alerts=(down, backlog)", "alert=(down, backlog)")],
     [(S, "Stack 'demo' field 'alert': unknown field (did you mean 'alerts'?)")], ["definition/invalid"]),
    ("mistakes in three definitions", [('channel="#alerts"', 'channel="alerts"'), ('to="oncall@example.com"', 'to="oncall"'), ('summary="Demo is down."', 'summary="Demo is down"')],
     [("slack = ", "Receiver 'slack' field 'channel': channel must start with '#' or '@'"),
      ("mail = ", "Receiver 'mail' field 'to': 'oncall' is not an e-mail address"),
      ("down = ", "Alert 'DemoDown' field 'summary': summary must be one sentence ending with '.'")], ["definition/invalid"] * 3),
    # -- the definitions module itself -------------------------------------------------------
    ("name error", [("\nqueue = ", "\nqueue_size = unknown_helper()\nqueue = ")],
     [("queue_size = ", "NameError: name 'unknown_helper' is not defined")], ["definition/import"]),
    ("exception raised by the definitions", [("\nqueue = ", "\nraise ValueError('no queue configured')\nqueue = ")],
     [("raise ValueError", "ValueError: no queue configured")], ["definition/import"]),
    ("syntax error", [("\nqueue = ", "\nqueue = Metric(name=\n")],
     [("queue = Metric(name=", "SyntaxError: '(' was never closed")], ["definition/import"]),
    ("construction errors before an exception", [('channel="#alerts"', 'channel="alerts"'), ("\nbacklog = ", "\nboom = 1 / 0\nbacklog = ")],
     [("slack = ", "Receiver 'slack' field 'channel': channel must start with '#' or '@'"),
      ("boom = ", "ZeroDivisionError: division by zero")], ["definition/invalid", "definition/import"]),
    # -- cross-references ---------------------------------------------------------------------
    ("unknown severity", [('severity="P0", service="demo", summary="Demo is down."', 'severity="P5", service="demo", summary="Demo is down."')],
     [("down = ", "Alert 'DemoDown' field 'severity': unknown severity 'P5' (known: P0, P1)")], ["stack/unknown-reference"]),
    ("duplicate metric", [("metrics=(requests, latency, queue, pg_up)", "metrics=(requests, latency, queue, pg_up, queue)")],
     [("queue = ", "Metric 'demo_queue_depth' field 'name': duplicate metric 'demo_queue_depth'")], ["stack/duplicate"]),
    ("duplicate alert", [("alerts=(down, backlog)", "alerts=(down, backlog, down)")],
     [("down = ", "Alert 'DemoDown' field 'name': duplicate alert 'DemoDown'")], ["stack/duplicate"]),
    ("unknown receiver of a severity", [('receivers=("slack", "mail"))', 'receivers=("slack", "email"))')],
     [("p1 = ", "Severity 'P1' field 'receivers': unknown receiver 'email' (did you mean 'mail'?)")], ["stack/unknown-reference"]),
    ("unknown default receiver", [('default_receiver="slack"', 'default_receiver="slak"')],
     [(S, "Stack 'demo' field 'default_receiver': unknown receiver 'slak' (did you mean 'slack'?)")], ["stack/unknown-reference"]),
    ("override of an unknown receiver", [("paging=False)", 'paging=False, receiver_overrides={"slak": SlackReceiver(name="slack", api_url_file="/run/secrets/slack", channel="#staging")})')],
     [("staging = ", "Environment 'staging' field 'receiver_overrides': unknown receiver 'slak' (did you mean 'slack'?)")], ["stack/unknown-reference"]),
    ("override by another receiver type", [("paging=False)", 'paging=False, receiver_overrides={"slack": PagerDutyReceiver(name="slack", routing_key_file="/run/secrets/pd")})')],
     [("staging = ", "Environment 'staging' field 'receiver_overrides': 'slack' must be replaced by a receiver of the same type")], ["stack/unknown-reference"]),
    ("target in an unknown environment", [('"staging": ("demo-staging:8000",)', '"stagging": ("demo-staging:8000",)')],
     [("staging = ", "Environment 'staging' field 'name': no scrape job or probe targets environment 'staging': its Prometheus would scrape nothing and every alert there stays silent"),
      ("app_job = ", "ScrapeJob 'demo' field 'targets': unknown environment 'stagging' (did you mean 'staging'?)")], ["config/unscraped-environment", "stack/unknown-reference"]),
    ("unknown dashboard link", [('runbook_url="https://runbooks.example.com/demo#queue", dashboard="demo-overview"', 'runbook_url="https://runbooks.example.com/demo#queue", dashboard="demo-overwiew"')],
     [("backlog = ", "Alert 'DemoQueueBacklog' field 'dashboard': unknown dashboard uid 'demo-overwiew' (did you mean 'demo-overview'?)")], ["stack/unknown-reference"]),
    ("undeclared metric in an alert", [("max(demo_queue_depth) > 100", "max(demo_queue_dept) > 100")],
     [("backlog = ", "Alert 'DemoQueueBacklog' field 'expr': metric 'demo_queue_dept' is not declared (did you mean 'demo_queue_depth'?)")], ["stack/unknown-reference"]),
    ("undeclared metric in a panel", [("sum(rate(demo_requests_total[$__rate_interval]))", "sum(rate(demo_request_total[$__rate_interval]))")],
     [("panel = ", "Panel 'Requests' field 'queries': metric 'demo_request_total' is not declared (did you mean 'demo_requests_total'?)")], ["stack/unknown-reference"]),
    ("undeclared metric in an SLO", [('total="demo_requests_total")', 'total="demo_request_total")')],
     [("availability = ", "SLO 'availability' field 'sli.total': metric 'demo_request_total' is not declared (did you mean 'demo_requests_total'?)")], ["stack/unknown-reference"]),
    ("SLO label the metric lacks", [("""bad='demo_requests_total{status="500"}'""", """bad='demo_requests_total{code="500"}'""")],
     [("availability = ", "SLO 'availability' field 'sli.bad': 'demo_requests_total' has no label 'code'")], ["stack/unknown-reference"]),
    ("SLO threshold not a bucket", [("threshold=0.5", "threshold=0.3")],
     [("speed = ", "SLO 'latency' field 'sli.threshold': 0.3 is not a bucket of 'demo_request_duration_seconds' (0.1, 0.5, 1)")], ["stack/unknown-reference"]),
    ("SLO latency on a counter", [('histogram="demo_request_duration_seconds"', 'histogram="demo_requests_total"')],
     [("speed = ", "SLO 'latency' field 'sli.histogram': 'demo_requests_total' is a counter, not a histogram")], ["stack/unknown-reference"]),
    ("SLO page severity unknown", [("objective=95.0,", 'objective=95.0, page_severity="critical",')],
     [("speed = ", "SLO 'latency' field 'page_severity': unknown severity 'critical' (known: P0, P1)")], ["stack/unknown-reference"]),
    ("duplicate SLO", [("slos=(availability, speed)", "slos=(availability, speed, availability)")],
     [("availability = ", "SLO 'availability' field 'name': duplicate SLO 'demo/availability'")], ["stack/duplicate"]),
    ("namespace of an unknown environment", [("slos=(availability, speed)", 'slos=(availability, speed), kubernetes=KubernetesSettings(namespaces={"prod": "monitoring"})')],
     [(S, "Kubernetes field 'namespaces': unknown environment 'prod' (did you mean 'production'?)")], ["stack/unknown-reference"]),
    ("compose environment unknown", [("slos=(availability, speed)", 'slos=(availability, speed), compose=ComposeSettings(environment="prodution")')],
     [(S, "Compose field 'environment': unknown environment 'prodution' (did you mean 'production'?)")], ["stack/unknown-reference"]),
    ("central environment unknown", [("slos=(availability, speed)", 'slos=(availability, speed), central=CentralMetrics(remote_write_url="https://central.example.com/api/v1/push", query_url="https://central.example.com/prometheus", environments=("prod",))')],
     [(S, "CentralMetrics field 'environments': unknown environment 'prod' (did you mean 'production'?)")], ["stack/unknown-reference"]),
    ("unknown Thanos rule group", [("slos=(availability, speed)", 'slos=(availability, speed), thanos=ThanosSettings(partial_response={"demo-alert": "warn"})')],
     [(S, "Thanos field 'partial_response': unknown rule group 'demo-alert' (did you mean 'demo-alerts'?)")], ["stack/unknown-reference"]),
    ("misspelt exporter of a job", [('exporter="postgres_exporter", targets', 'exporter="postgress_exporter", targets')],
     [("pg_job = ", "ScrapeJob 'postgres' field 'exporter': unknown exporter 'postgress_exporter' (did you mean 'postgres_exporter'?)")], ["stack/unknown-reference"]),
    ("unknown blackbox module", [('module="http_2xx"', 'module="http_3xx"')],
     [("probe = ", "BlackboxProbe 'health' field 'module': no blackbox module 'http_3xx' is known (known: http_2xx, http_post_2xx, icmp, tcp_connect)")], ["stack/unknown-reference"]),
    # -- names the compilers derive -------------------------------------------------------------
    ("alert named like an SLO alert", [('name="DemoQueueBacklog"', 'name="AvailabilityBudgetBurn1h"')],
     [("backlog = ", "Alert 'AvailabilityBudgetBurn1h' field 'name': 'AvailabilityBudgetBurn1h' is also the name of the 1h alert of SLO 'demo/availability'")], ["stack/name-collision"]),
    ("SLO rule files collide", [(EXTRA, "\n" + X1 + "\n" + X2 + EXTRA), ("slos=(", "slos=(x1, x2, ")],
     [("x2 = ", "SLO 'x' field 'name': SLO 'demo-latency/x' has the file 'prometheus/rules/slo-demo-latency-x.yml' of SLO 'demo/latency-x'")], ["stack/name-collision"]),
    ("dashboard on an SLO dashboard's uid", [('uid="demo-overview"', 'uid="demo-slo-demo"'), ('*dashboard="demo-overview"', 'dashboard="demo-slo-demo"')],
     [("board = ", "Dashboard 'demo-slo-demo' field 'uid': dashboard 'demo-slo-demo' has the uid 'demo-slo-demo' of the SLO dashboard of service 'demo'")], ["stack/name-collision"]),
    ("dashboard on an SLO dashboard's file", [('uid="demo-overview"', 'uid="demo-overview", file="slo_demo.json"')],
     [("board = ", "Dashboard 'demo-overview' field 'file': dashboard 'demo-overview' has the file name 'slo_demo.json' of the SLO dashboard of service 'demo'")], ["stack/name-collision"]),
    ("jobs equal as Kubernetes names", add('pg_job2 = ScrapeJob(name="post_gres", exporter="postgres_exporter", targets={"production": ("pg2:9187",)})', "scrape_jobs", "pg_job2")
     + [('name="postgres", exporter', 'name="post-gres", exporter')],
     [("pg_job = ", "ScrapeJob 'post-gres' field 'name': ScrapeJob 'post-gres' has the ServiceMonitor name 'post-gres' of ScrapeJob 'post_gres'")], ["stack/name-collision"]),
    ("label named like a Python keyword", [('Label(name="route", values=("/a", "/b"))))', 'Label(name="route", values=("/a", "/b")), Label(name="class")))')],
     [("requests = ", "Metric 'demo_requests_total' field 'labels': label 'class' is a Python keyword and cannot be a keyword argument")], ["stack/invalid-name"]),
    ("label named like a method argument", [('help="Queue depth.")', 'help="Queue depth.", labels=("value",))')],
     [("queue = ", "Metric 'demo_queue_depth' field 'labels': label 'value' would clash with a name the generated methods use (Exception, amount, self, value)")], ["stack/invalid-name"]),
    ("secret files share a name", [('routing_key_file="/run/secrets/pagerduty"', 'routing_key_file="/etc/pagerduty/slack"')],
     [("pager = ", "Receiver 'pager' field 'routing_key_file': secret file '/etc/pagerduty/slack' has the file name of '/run/secrets/slack'; compose and Kubernetes name secrets by it")], ["stack/name-collision"]),
    ("SLI value no series takes", [('histogram="demo_request_duration_seconds"', """histogram='demo_request_duration_seconds{route="/c"}'""")],
     [("speed = ", "SLO 'latency' field 'sli.histogram': 'demo_request_duration_seconds_bucket{route=...}': '/c' is never a value of 'route' (/a, /b, __overflow__), so the matcher matches nothing [promql/unknown-label-value]")], ["promql/unknown-label-value"]),
    ("SLI that counts no good event", [("""bad='demo_requests_total{status="500"}'""", 'bad="demo_requests_total"')],
     [("availability = ", "SLO 'availability' field 'sli': cannot derive promtool test input from these selectors (no series is counted as a good and one as a bad event); declare the label values")], ["stack/untestable"]),
    ("dashboard too large for a ConfigMap", [('title="Demo overview", uid="demo-overview"', 'title="Demo overview", description="x" * 1_100_000, uid="demo-overview"')],
     [("board = ", "Dashboard 'demo-overview' field 'rows': dashboard 'demo-overview' is 1105898 bytes of JSON, more than a ConfigMap holds (1048576)")], ["stack/too-large"]),
    # -- silent failures --------------------------------------------------------------------------
    ("environment nobody scrapes", add('dr = Environment(name="dr", external_labels={"env": "dr"}, alertmanagers=("alertmanager:9093",))', "environments", "dr"),
     [("dr = ", "Environment 'dr' field 'name': no scrape job or probe targets environment 'dr': its Prometheus would scrape nothing and every alert there stays silent")], ["config/unscraped-environment"]),
    ("target without port", [('"production": ("demo:8000",)', '"production": ("demo",)')],
     [("app_job = ", "ScrapeJob 'demo' field 'targets': 'demo' is not host:port (without a port Prometheus and Alertmanager silently use 80)")], ["config/address"]),
    ("target given as URL", [('"production": ("pg:9187",)', '"production": ("http://pg:9187",)')],
     [("pg_job = ", "ScrapeJob 'postgres' field 'targets': 'http://pg:9187' is a URL; give host:port")], ["config/address"]),
    ("Alertmanager without port", [('external_labels={"env": "production"}, alertmanagers=("alertmanager:9093",)', 'external_labels={"env": "production"}, alertmanagers=("alertmanager",)')],
     [("production = ", "Environment 'production' field 'alertmanagers': 'alertmanager' is not host:port (without a port Prometheus and Alertmanager silently use 80)")], ["config/address"]),
    ("smarthost without port", [('smarthost="smtp.example.com:587"', 'smarthost="smtp.example.com"')],
     [("mail = ", "Receiver 'mail' field 'smarthost': 'smtp.example.com' is not host:port (without a port Prometheus and Alertmanager silently use 80)")], ["config/address"]),
    ("port out of range", [('"production": ("pg:9187",)', '"production": ("pg:91870",)')],
     [("pg_job = ", "ScrapeJob 'postgres' field 'targets': 'pg:91870' has no valid port (1-65535)")], ["config/address"]),
    ("probe URL without scheme", [('("http://demo:8000/health",)', '("demo:8000/health",)')],
     [("probe = ", "BlackboxProbe 'health' field 'targets': 'demo:8000/health' has no http:// or https:// scheme (module 'http_2xx' probes URLs)")], ["config/address"]),
    ("probe exporter without port", [('exporter_address={"production": "blackbox:9115"}', 'exporter_address={"production": "blackbox"}')],
     [("probe = ", "BlackboxProbe 'health' field 'exporter_address': 'blackbox' is not host:port (without a port Prometheus and Alertmanager silently use 80)")], ["config/address"]),
    ("environment name with a slash", [('name="staging", external_labels', 'name="prod/eu", external_labels'), ('"staging": ("demo-staging:8000",)', '"prod/eu": ("demo-staging:8000",)')],
     [("staging = ", "Environment 'prod/eu' field 'name': 'prod/eu' must be a DNS label (lower-case letters, digits, '-', at most 63): it names directories and Kubernetes namespaces")], ["stack/invalid-name"]),
    ("stack name not a DNS label", [('stack = Stack(name="demo"', 'stack = Stack(name="Demo_App"')],
     [(S, "Stack 'Demo_App' field 'name': 'Demo_App' must be a DNS label (lower-case letters, digits, '-', at most 63): it names files, namespaces and resources")], ["stack/invalid-name"]),
    ("inhibition cycle", [('receivers=("slack", "mail"))', 'receivers=("slack", "mail"), inhibits=("P0",))')],
     [("p0 = ", "Severity 'P0' field 'inhibits': inhibition cycle P0 -> P1 -> P0: while both fire, each mutes the other and nobody is told"),
      ("p1 = ", "Severity 'P1' field 'inhibits': inhibition cycle P1 -> P0 -> P1: while both fire, each mutes the other and nobody is told")], ["routing/inhibition-cycle"] * 2),
    ("inhibit_equal label no alert carries", [("slos=(availability, speed)", 'slos=(availability, speed), inhibit_equal=("env", "team")')],
     [(S, "Stack 'demo' field 'inhibit_equal': label 'team' is not on the alerts of alert 'DemoDown', alert 'DemoQueueBacklog', SLO 'demo/availability' and 1 more: a firing higher severity without it mutes every lower one that lacks it too")], ["routing/inhibit-equal-label"]),
    ("objective written as a ratio", [("objective=99.5", "objective=0.995")],
     [("availability = ", "SLO 'availability' field 'objective': objective 0.995 is a percentage: this SLO allows 99.005 % errors; write 99.5 for 99.5 %")], ["slo/objective-ratio"]),
    ("objective leaves no budget", [("objective=99.5", "objective=99.99999999999")],
     [("availability = ", "SLO 'availability' field 'objective': objective 99.99999999999 leaves no error budget (a budget of 0 pages on every failed event)")], ["slo/no-budget"]),
    ("a field that was replaced", [("objective=99.5", "objective=99.5, min_traffic=1")],
     [("availability = ", "SLO 'availability' field 'min_traffic': min_traffic (a traffic floor below which pages were off) was replaced by min_bad_events (default 10): a tier needs that many bad events in its long window, so a quiet service that is down still pages; remove min_traffic, or give min_bad_events")], ["definition/invalid"]),
    ("tier a total outage cannot fire", [("objective=99.5", "objective=90")],
     [("availability = ", "SLO 'availability' field 'tiers': the 1h/5m page fires only when more than 144 % of the events fail (burn rate 14.4 x a budget of 10 %): not even a total outage fires it; lower its burn rate or raise the objective [slo/tier-unreachable]")], ["slo/tier-unreachable"]),
    ("SLO over a gauge", [('total="demo_requests_total")', 'total="demo_queue_depth")')],
     [("availability = ", "SLO 'availability' field 'sli.total': 'demo_queue_depth' is a gauge: the SLO counts events with rate(), which needs a counter [promql/rate-on-non-counter]")], ["promql/rate-on-non-counter"]),
]

# Likely mistakes: generate prints them and writes the tree.
WARNINGS: list[tuple[str, list[Edit], list[Expected], list[str]]] = [
    ("placeholder runbook", [('runbook_url="https://runbooks.example.com/demo#availability"', 'runbook_url="https://runbooks.invalid/slo/demo-availability"')],
     [("availability = ", "SLO 'availability' field 'runbook_url': 'https://runbooks.invalid/slo/demo-availability' is a placeholder: on-call gets no runbook; link a real one")],
     ["stack/placeholder-runbook"]),
    ("one failed event alerts", [("objective=99.5", "objective=99.5, min_bad_events=1")],
     [("availability = ", "SLO 'availability' field 'min_bad_events': min_bad_events=1: at low traffic a single failed event fires every tier whose windows it fills; give 2 or more (default 10) [slo/tiny-budget]")], ["slo/tiny-budget"]),
]


def apply(edits: list[Edit]) -> str:
    """`GOOD` with each edit made once (every occurrence where `old` starts with '*')."""
    text = GOOD
    for old, new in edits:
        every = old.startswith("*")
        old = old.removeprefix("*")
        if old not in text:
            raise AssertionError(f"edit target not in the definitions: {old!r}")
        text = text.replace(old, new) if every else text.replace(old, new, 1)
    return text


def line_of(text: str, marker: str) -> int:
    for number, line in enumerate(text.splitlines(), 1):
        if marker.strip("\n") in line:
            return number
    raise AssertionError(f"marker not found: {marker!r}")
