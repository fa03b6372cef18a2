"""The first pass's Bloom filter: a Sale ID seen before is never reported new (no scattered sale
slips through as two), whatever the filter's size and however often IDs repeat."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from salesmetrics.scatter import IdFilter, find_scattered

IDS = st.lists(st.text(min_size=1, max_size=12), max_size=200)


@settings(max_examples=500, deadline=None)
@given(IDS, st.sampled_from([8, 64, 1 << 12]))
def test_add_new_answers_what_membership_said_before_the_add(ids: list[str], bits: int) -> None:
    f = IdFilter(bits)
    seen: set[str] = set()
    for value in ids:
        was_in = value in f
        assert f.add_new(value) is (not was_in)
        assert was_in or value not in seen  # a repeat is always "in"
        seen.add(value)
        assert value in f


@settings(max_examples=500, deadline=None)
@given(IDS)
def test_every_sale_id_starting_two_runs_is_scattered(runs: list[str]) -> None:
    scattered = find_scattered(runs)
    repeated = {v for i, v in enumerate(runs) if v in runs[:i]}
    if not repeated:
        return
    assert scattered is not None
    assert all(v in scattered for v in repeated)
