"""What PromQL functions do to the series they read, for the lint.

Three questions the lint asks of every function call: which metric kinds
may it read, which labels does its result carry, and how long after a change
in the input does its result show it (the "window lag" of the alert-latency
budget). The tables follow the Prometheus function reference; a function not
listed keeps the labels of its vector argument and adds no lag.
"""

from __future__ import annotations

# Functions whose input must be a counter (or a histogram/summary _bucket,
# _sum, _count series): on a gauge their reset handling invents increases.
COUNTER_FUNCTIONS = frozenset({"rate", "irate", "increase", "resets"})

# Functions meant for gauges: on a counter every reset looks like a crash.
GAUGE_FUNCTIONS = frozenset({"delta", "idelta", "deriv", "predict_linear", "holt_winters", "double_exponential_smoothing"})

# Inside these a counter's raw value is fine: they look at presence, counts
# or changes, not at the ever-growing number itself.
COUNTER_SAFE_FUNCTIONS = COUNTER_FUNCTIONS | frozenset(
    {"changes", "absent", "absent_over_time", "present_over_time", "count_over_time", "timestamp"}
)
COUNTER_SAFE_AGGREGATIONS = frozenset({"count", "group", "count_values"})

# Functions whose result is a scalar, not a vector.
SCALAR_FUNCTIONS = frozenset({"scalar", "time", "pi"})

# Functions whose result has no labels at all.
LABELLESS_FUNCTIONS = frozenset({"vector"})

# absent() returns one series whose labels are the equality matchers of its argument.
ABSENT_FUNCTIONS = frozenset({"absent", "absent_over_time"})

# (function, index of the destination label argument, indexes of source label arguments;
# None means "every argument from here on").
LABEL_WRITING_FUNCTIONS: dict[str, tuple[int, tuple[int, ...] | int]] = {
    "label_replace": (1, (3,)),
    "label_join": (1, 3),
}

# Functions whose window makes the result trail a change in the input by up to
# the whole window: an average (or minimum) over the window only crosses a
# threshold once enough of the window holds the new values. max_over_time,
# last_over_time, irate and idelta react within one sample: no lag.
WINDOW_LAG_FUNCTIONS = frozenset(
    {
        "rate", "increase", "delta", "deriv", "predict_linear", "holt_winters", "double_exponential_smoothing",
        "avg_over_time", "sum_over_time", "count_over_time", "min_over_time", "quantile_over_time",
        "stddev_over_time", "stdvar_over_time", "absent_over_time", "mad_over_time",
    }
)

# Functions whose window should be Grafana's $__rate_interval on a dashboard.
RATE_INTERVAL_FUNCTIONS = frozenset({"rate", "irate"})

# Functions that need at least two samples in their window.
TWO_SAMPLE_FUNCTIONS = frozenset({"rate", "irate", "increase", "delta", "idelta", "deriv", "predict_linear"})

COMPARISON_OPERATORS = frozenset({"==", "!=", ">", "<", ">=", "<="})
SET_OPERATORS = frozenset({"and", "or", "unless"})
# Aggregations that keep each input series' labels and only pick among them.
SELECTING_AGGREGATIONS = frozenset({"topk", "bottomk", "limitk", "limit_ratio"})
