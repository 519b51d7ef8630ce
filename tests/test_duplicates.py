"""Duplicate linking: the array search finds exactly what a plain pairwise search finds."""
import math
import random
from datetime import datetime, timedelta

import pytest

from data_sources.duplicates import DUPLICATE_METRES, DUPLICATE_WINDOW, as_points, family, link_duplicates


def _metres(lon1, lat1, lon2, lat2):
    dx = (lon2 - lon1) * 111_320.0 * math.cos(math.radians((lat1 + lat2) / 2))
    return math.hypot(dx, (lat2 - lat1) * 110_540.0)


def reference(new, stored):
    """Every pair checked, one new event after another (the rule as written, no index)."""
    links, originals = {}, [(at, 0, k, code, lon, lat, src, ident) for k, (code, lon, lat, at, src, ident)
                            in enumerate(stored)]
    for k, (code, lon, lat, at, src, ident) in enumerate(new):
        best = None
        for o in originals:
            o_at, _, _, o_code, o_lon, o_lat, o_src, o_ident = o
            if (family(o_code) == family(code) and o_src != src and abs(o_at - at) <= DUPLICATE_WINDOW
                    and _metres(lon, lat, o_lon, o_lat) <= DUPLICATE_METRES and (best is None or o[:3] < best[:3])):
                best = o
        if best is None:
            originals.append((at, 1, k, code, lon, lat, src, ident))
        else:
            links[k] = best[7]
    return links


def _random_events(rng, n, start, ident0):
    out = []
    for i in range(n):
        at = start + timedelta(minutes=rng.randrange(0, 5 * 24 * 60))
        # a 400 m square: many neighbours, many cell edges, distances on both sides of 50 m
        lon, lat = 104.0600 + rng.random() * 0.004, 30.6500 + rng.random() * 0.0036
        out.append((rng.choice(["0101", "0102", "0201", "0305"]), lon, lat, at,
                    rng.choice(["cases", "safety", "grid_events"]), ident0 + i))
    return out


@pytest.mark.parametrize("seed", range(8))
def test_array_search_equals_pairwise_search(seed):
    rng = random.Random(seed)
    start = datetime(2026, 3, 1)
    stored = _random_events(rng, 300, start, 1)
    new = sorted(_random_events(rng, 400, start, 10_000), key=lambda e: e[3])
    expected = reference(new, stored)
    assert len(expected) > 50  # the data really exercises linking
    assert any(v >= 10_000 for v in expected.values())  # and links to earlier events of the batch
    assert link_duplicates(as_points(new), as_points(stored)) == expected


def test_same_feed_window_and_distance_are_respected():
    at = datetime(2026, 3, 1, 12)
    stored = [("0101", 104.06, 30.65, at, "safety", 1)]
    just_in = ("0101", 104.06 + 40 / 95_800, 30.65, at + DUPLICATE_WINDOW, "cases", 10)
    too_far = ("0101", 104.06 + 60 / 95_800, 30.65, at, "cases", 11)
    too_late = ("0101", 104.06, 30.65, at + DUPLICATE_WINDOW + timedelta(seconds=1), "cases", 12)
    same_feed = ("0101", 104.06, 30.65, at, "safety", 13)
    other_family = ("0201", 104.06, 30.65, at, "cases", 14)
    new = sorted([just_in, too_far, too_late, same_feed, other_family], key=lambda e: e[3])
    links = link_duplicates(as_points(new), as_points(stored))
    assert {new[k][5]: v for k, v in links.items()} == {10: 1}
    assert links == reference(new, stored)
