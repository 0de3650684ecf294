"""Blue-green rollouts (seed section 1.3, and the CD pipeline of 3.2).

Production runs a blue and a green deployment side by side during a cut-over;
the scrape labels each target's series with `deployment` (the pod label of
that name in Kubernetes, the static targets in definitions/scraping.py
elsewhere). The rollout below is the seed's flow: 10 % of traffic to the
candidate for 5 minutes, 50 % for 10, 100 % for 15, then blue is
decommissioned. `sergas-obs gate blue-green` answers "is green healthy?"
after each step by the same SLIs the SLO alerts page on.
"""

from sergas_observability.model import Deployments, Rollout, RolloutCheck, RolloutStep

from .runbooks import RUNBOOKS
from .slos import http_availability, http_latency

DEPLOYMENTS = Deployments(label="deployment", names=("blue", "green", "canary"), pod_label="deployment")

blue_green = Rollout(
    name="blue-green",
    service="sergas-app",
    description="The seed's blue-green cut-over: green (the candidate) against blue, by the SLIs of the HTTP SLOs.",
    steps=(
        RolloutStep(traffic=10, monitor="5m"),
        RolloutStep(traffic=50, monitor="10m"),
        RolloutStep(traffic=100, monitor="15m"),
    ),
    checks=(
        # Errors: at most the 99.5 % SLO's budget, and no more than 0.5 points above blue.
        RolloutCheck(name="availability", slo=http_availability.key),
        # Requests over 2.5 s: at most the 95 % SLO's budget, and no more than 5 points above blue.
        RolloutCheck(name="latency", slo=http_latency.key),
    ),
    # A worse deployment serves a share of production's customers while nobody may be
    # watching the rollout: page, as for any customer-facing outage.
    severity="P0",
    runbook_url=f"{RUNBOOKS}/incident_response.md#failed-deployment",
)

ROLLOUTS = (blue_green,)
