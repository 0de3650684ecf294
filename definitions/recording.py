"""Recording rules shared by alerts and dashboards (level:metric:operations)."""

from sergas_observability.model import RecordingRule

RECORDING_RULES = (
    RecordingRule(
        record="job:http_requests:rate5m",
        expr='sum by (job) (rate(http_requests_total{job="sergas-app"}[5m]))',
    ),
    RecordingRule(
        record="job:http_request_errors:ratio_rate5m",
        expr=(
            'sum by (job) (rate(http_requests_total{job="sergas-app",status=~"5.."}[5m]))\n'
            '/ sum by (job) (rate(http_requests_total{job="sergas-app"}[5m]))'
        ),
    ),
)
