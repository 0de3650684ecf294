"""Recording rules shared by alerts and dashboards."""

RECORDING_RULES = ()
