"""The series an SLO's promtool tests replay, found from its selectors (compile.slo_inputs)."""

from __future__ import annotations

import pytest

from sergas_observability.compile.slo_inputs import NoTestInput, input_series
from sergas_observability.model import RatioSLI


def test_the_most_realistic_values_are_chosen():
    sli = RatioSLI(bad='http_requests_total{job="shop",code=~"5.."}', total='http_requests_total{job="shop"}')
    assert input_series(sli, {}) == [
        ('http_requests_total{code="200",job="shop"}', 1, 0),  # good: counted in total only
        ('http_requests_total{code="500",job="shop"}', 0, 1),  # bad: 500 before the regex's own text
    ]


def test_many_labels_do_not_exhaust_the_search():
    """Seven labels of nine candidates each are 4.8 million series: tried one per verdict of
    their matchers, they are a few hundred, and the good series (code 200, after every
    combination of the five labels sorted behind `code`) is found."""
    labels = ",".join(f'{name}=~"x|y"' for name in ("a", "b", "d", "e", "f", "g", "h"))
    sli = RatioSLI(bad=f'http_requests_total{{{labels},code=~"5.."}}', total=f"http_requests_total{{{labels}}}")
    (good, _, _), (bad, _, _) = input_series(sli, {})
    assert 'code="200"' in good and 'code="500"' in bad
    for name in ("a", "b", "d", "e", "f", "g", "h"):
        assert f'{name}="x"' in good and f'{name}="x"' in bad


def test_selectors_that_admit_no_good_event_are_refused():
    sli = RatioSLI(bad='http_requests_total{job="shop"}', total='http_requests_total{job="shop"}')
    with pytest.raises(NoTestInput, match="no series is counted as a good and one as a bad event"):
        input_series(sli, {})
