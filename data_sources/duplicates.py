"""Duplicate linking across feeds: a new event within 50 m and 24 h of an original of the same
category family reported by another feed is that original's duplicate.

Candidates are found with array operations (points keyed by family, ~100 m cell and day, each new
event looking at the 27 neighbouring keys), so a batch of thousands costs a few milliseconds;
only the rare events with a candidate are resolved one by one, in report order, because an
earlier event of the same batch is an original only if it was not linked itself.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd

DUPLICATE_METRES = 50.0
DUPLICATE_WINDOW = timedelta(hours=24)
_CELL = 0.001  # degrees: ~100 m, wider than the 50 m radius, so neighbouring cells suffice
_WINDOW_US = int(DUPLICATE_WINDOW / timedelta(microseconds=1))
_SHIFTS = [(dx, dy, dd) for dx in (-1, 0, 1) for dy in (-1, 0, 1) for dd in (-1, 0, 1)]


def family(code: str) -> str:
    """The major class (大类) of a category code: what "the same kind of problem" means."""
    return code[:2]


@dataclass
class Points:
    """Located events as arrays: category family, position, report time, source and id."""

    family: list[str]
    lon: np.ndarray
    lat: np.ndarray
    at_us: np.ndarray  # microseconds since the epoch (naive UTC)
    source: list[str]
    ident: list

    def __len__(self) -> int:
        return len(self.ident)


def link_duplicates(new: Points, originals: Points) -> dict[int, object]:
    """Which new events are duplicates: {position in `new`: ident of the original it duplicates}.

    `new` must be in report order; `originals` are stored events that are not duplicates
    themselves. A new event links to the earliest qualifying original, stored or earlier in the
    batch (on a tie, a stored one); a linked event is no original for later ones.
    """
    if not len(new):
        return {}
    pairs = _candidate_pairs(new, originals)
    if pairs is None:
        return {}
    n_orig = len(originals)
    at = np.concatenate([originals.at_us, new.at_us])
    links: dict[int, object] = {}
    linked = np.zeros(len(new), bool)
    order = np.lexsort((pairs[1], at[pairs[1]], pairs[0]))  # by new event, then earliest original
    last = None
    for i, j in zip(pairs[0][order].tolist(), pairs[1][order].tolist()):
        if i == last:
            continue  # this new event already has its earliest original
        if j >= n_orig and linked[j - n_orig]:
            continue  # an earlier event of the batch that is itself a duplicate
        links[i] = originals.ident[j] if j < n_orig else new.ident[j - n_orig]
        linked[i] = True
        last = i
    return links


def _candidate_pairs(new: Points, originals: Points) -> np.ndarray | None:
    """(new position, point index) pairs within 50 m, 24 h, same family, other source; points are
    the originals followed by the new events (a new one only pairs with an earlier new one)."""
    fam = originals.family + new.family
    source = originals.source + new.source
    lon = np.concatenate([originals.lon, new.lon])
    lat = np.concatenate([originals.lat, new.lat])
    at = np.concatenate([originals.at_us, new.at_us])
    fam_id = np.unique(np.asarray(fam), return_inverse=True)[1].astype(np.int64)
    src_id = np.unique(np.asarray(source), return_inverse=True)[1].astype(np.int64)
    cx, cy = np.floor(lon / _CELL).astype(np.int64), np.floor(lat / _CELL).astype(np.int64)
    day = at // 86_400_000_000
    cx, cy, day = cx - cx.min() + 1, cy - cy.min() + 1, day - day.min() + 1  # small, positive
    span_x, span_y, span_d = int(cx.max()) + 2, int(cy.max()) + 2, int(day.max()) + 2
    key = ((fam_id * span_x + cx) * span_y + cy) * span_d + day
    sort = np.argsort(key, kind="stable")
    sorted_keys = key[sort]
    n_orig = len(originals)
    # The key is linear in cell and day, so a neighbour's key is the key plus a constant: all 27
    # neighbour probes of every new event go to one search of the sorted keys.
    shifts = np.array([(dx * span_y + dy) * span_d + dd for dx, dy, dd in _SHIFTS], np.int64)
    # (The new events go in key order, so each shift's probes are sorted: a search that follows on
    # from the previous one, several times faster than probing at random.)
    by_key = n_orig + np.argsort(key[n_orig:], kind="stable")
    probe = (key[by_key][None, :] + shifts[:, None]).ravel()
    lo = np.searchsorted(sorted_keys, probe, "left")
    count = np.searchsorted(sorted_keys, probe, "right") - lo
    if not count.any():
        return None
    mine = np.tile(by_key, len(shifts))
    # the sorted positions lo[k] … lo[k] + count[k] - 1 of every probe k, flattened
    within = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    i, j = np.repeat(mine, count), sort[np.repeat(lo, count) + within]
    keep = (src_id[i] != src_id[j]) & (np.abs(at[i] - at[j]) <= _WINDOW_US) & ((j < n_orig) | (j < i))
    i, j = i[keep], j[keep]
    keep = _metres(lon[i], lat[i], lon[j], lat[j]) <= DUPLICATE_METRES
    if not keep.any():
        return None
    return np.vstack([i[keep] - n_orig, j[keep]])


def _metres(lon1, lat1, lon2, lat2):
    """Approximate ground distance in metres (equirectangular; exact enough at 50 m)."""
    dx = (lon2 - lon1) * 111_320.0 * np.cos(np.radians((lat1 + lat2) / 2))
    dy = (lat2 - lat1) * 110_540.0
    return np.hypot(dx, dy)


def as_points(rows) -> Points:
    """Points from (category code, lon, lat, reported_at, source, ident) tuples."""
    if not rows:
        return Points([], np.empty(0), np.empty(0), np.empty(0, np.int64), [], [])
    code, lon, lat, at, source, ident = zip(*rows)
    return Points([family(c) for c in code], np.asarray(lon, float), np.asarray(lat, float),
                  # pandas turns datetimes into integers ~20× faster than numpy's datetime64 does
                  pd.DatetimeIndex(at).as_unit("us").asi8, list(source), list(ident))
