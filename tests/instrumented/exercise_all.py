"""A process that records one observation on every instrument and serves /metrics.

    python exercise_all.py PORT

Prints "ready" once the standalone exposition server listens on
127.0.0.1:PORT, and exits when its stdin closes. A label with declared values
gets its first value, any other label the value "probe". Then one stray label
value and one observation that cannot be recorded, so that the runtime's own
series are exposed too.
"""

from __future__ import annotations

import sys

import sergas_metrics
from sergas_metrics import start_metrics_server


def exercise() -> None:
    for instrument in sergas_metrics.INSTRUMENTS:
        values = tuple(
            instrument.allowed_values[name][0] if name in instrument.allowed_values else "probe"
            for name in instrument.label_names
        )
        operation = {"counter": "inc", "gauge": "set", "histogram": "observe", "summary": "observe"}[instrument.kind]
        instrument._apply(operation, 1, values)
    guarded = next(i for i in sergas_metrics.INSTRUMENTS if i.kind == "counter" and i.allowed_values)
    guarded._apply("inc", 1, tuple("not-declared" for _ in guarded.label_names))  # -> __overflow__, counted
    guarded._apply("inc", -1, tuple(guarded.allowed_values.get(n, ("probe",))[0] for n in guarded.label_names))  # dropped, counted


if __name__ == "__main__":
    exercise()
    start_metrics_server(int(sys.argv[1]), "127.0.0.1")
    print("ready", flush=True)
    sys.stdin.read()
