"""The five Grafana dashboards of seed section 4.2."""

DASHBOARDS = ()
