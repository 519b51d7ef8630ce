"""Generated people of the demo world: households, residents, rentals and premises per micro-grid.

Rates of a Chengdu community (~1.5万 residents, ~2.6 per household): ages from the 2020 census shape
(~20 % aged 60+), 独居老人 = 60+ living alone, 空巢老人 = households of 60+ only, 残疾人 ~2.5 % (持证),
低保/困难家庭 ~1.2 % of households, 留守儿童 ~1 % of children, ~12 % of households renting (mostly
流动人口), one business premises per ~15 households. Vectorised with numpy: ~350k residents in seconds.
The ID numbers behind the keyed hashes are never generated: these people exist only as masked rows.
"""
from __future__ import annotations

import hashlib
from datetime import date, datetime

import numpy as np

from governance.core.bulk_rows import insert_rows
from governance.models import Household, Place, Resident
from governance.core.progress import progress

from .names import _GIVEN, _SURNAMES

AGE_SHARES = ((0, 17, 0.16), (18, 59, 0.64), (60, 79, 0.17), (80, 95, 0.03))
PREMISES_KINDS = (("餐饮", 0.30), ("小超市", 0.18), ("美容美发", 0.12), ("五金建材", 0.07), ("药店", 0.06),
                  ("小旅馆", 0.04), ("网吧", 0.02), ("汽修", 0.05), ("服装", 0.16))
RENTAL_SHARE, PREMISES_PER_HOUSEHOLD = 0.12, 1 / 15


def _names(rng, n: int) -> list[str]:
    sur = np.asarray(_SURNAMES)[rng.integers(len(_SURNAMES), size=n)]
    g1 = np.asarray(_GIVEN)[rng.integers(len(_GIVEN), size=n)]
    g2 = np.where(rng.random(n) < 0.7, np.asarray(_GIVEN)[rng.integers(len(_GIVEN), size=n)], "")
    return np.char.add(np.char.add(sur, g1), g2).tolist()


def generate_people(micro: list[dict], seed: int, now: datetime) -> dict[str, list[dict]]:
    """Rows of household, resident and place for micro-grids given as dicts (id, path, name, community,
    households, residents)."""
    rng = np.random.default_rng(seed + 19)
    today = now.date()
    hh_n = np.array([m["households"] or 0 for m in micro])
    res_n = np.maximum(np.array([m["residents"] or 0 for m in micro]), hh_n)
    H, R = int(hh_n.sum()), int(res_n.sum())
    grid_of_hh = np.repeat(np.arange(len(micro)), hh_n)
    hh_offset = np.concatenate([[0], np.cumsum(hh_n)[:-1]])
    extra = res_n - hh_n  # one person per household, the rest spread over the grid's households
    grid_of_extra = np.repeat(np.arange(len(micro)), extra)
    extra_hh = hh_offset[grid_of_extra] + (rng.random(len(grid_of_extra)) * hh_n[grid_of_extra]).astype(int)
    hh_of_res = np.concatenate([np.arange(H), extra_hh])
    order = np.argsort(hh_of_res, kind="stable")
    hh_of_res = hh_of_res[order]
    size = np.bincount(hh_of_res, minlength=H)
    bands = rng.choice(len(AGE_SHARES), size=R, p=[s for *_, s in AGE_SHARES])
    lo = np.array([a for a, _, _ in AGE_SHARES])[bands]
    hi = np.array([b for _, b, _ in AGE_SHARES])[bands]
    age = lo + (rng.random(R) * (hi - lo + 1)).astype(int)
    first = np.r_[True, hh_of_res[1:] != hh_of_res[:-1]]
    age[first & (age < 18)] = 18 + (age[first & (age < 18)] * 2)  # every household has an adult
    old = age >= 60
    old_count = np.bincount(hh_of_res, weights=old, minlength=H)
    alone = (size == 1)[hh_of_res] & old
    empty_nest = ((size >= 2) & (old_count == size))[hh_of_res]
    poor_hh = rng.random(H) < 0.012
    rental_hh = rng.random(H) < RENTAL_SHARE
    floating = np.where(rental_hh[hh_of_res], rng.random(R) < 0.8, rng.random(R) < 0.05)
    disabled = rng.random(R) < 0.025
    left_behind = (age < 18) & (rng.random(R) < 0.01)
    flags = [("elderly_alone", alone), ("elderly_empty_nest", empty_nest), ("disabled", disabled),
             ("low_income", poor_hh[hh_of_res]), ("left_behind_child", left_behind)]
    groups = np.full(R, "", dtype=object)
    for code, mask in flags:
        groups[mask] = groups[mask] + code + ","
    groups = np.where(groups != "", np.char.add(",", groups.astype(str)), "").tolist()
    room = (rng.integers(1, 19, size=H) * 100 + rng.integers(1, 5, size=H))
    addr = [f"{micro[g]['community']}{micro[g]['name']}{r}室" for g, r in zip(grid_of_hh.tolist(), room.tolist())]
    households = [{"id": i + 1, "hh_key": f"DEMO-H{i + 1:07d}", "address": addr[i],
                   "area_id": micro[g]["id"], "area_path": micro[g]["path"], "unplaced": False,
                   "closed_at": None, "updated_at": now} for i, g in enumerate(grid_of_hh.tolist())]
    names = _names(rng, R)
    tails = rng.integers(0, 10000, size=R)
    phones = rng.integers(0, 10 ** 6, size=R)
    gender = np.where(rng.random(R) < 0.5, "男", "女")
    # keyed hashes in ascending order: the unique index then grows at its end (3× quicker inserts)
    digests = sorted(hashlib.sha256(f"demo:{seed}:{i}".encode()).hexdigest() for i in range(R))
    residents = [{"id": i + 1, "id_hmac": digests[i],
                  "id_masked": f"510107********{t:04d}", "name": nm, "gender": gd, "birth_year": today.year - a,
                  "phone": f"19900{p:06d}" if a >= 18 else None, "household_id": h + 1, "residence": "floating" if fl else "resident", "groups": gr, "status": "active",
                  "closed_at": None, "row_hash": "demo", "updated_at": now}
                 for i, (nm, gd, a, p, t, h, fl, gr) in enumerate(zip(
                     names, gender.tolist(), age.tolist(), phones.tolist(), tails.tolist(), hh_of_res.tolist(),
                     floating.tolist(), groups))]
    places = []
    for i in np.flatnonzero(rental_hh).tolist():
        g = micro[int(grid_of_hh[i])]
        places.append({"kind": "rental", "place_key": f"DEMO-R{i + 1:07d}", "name": "", "category": None,
                       "licence": None, "fire_checked_on": None, "contact_name": None, "contact_phone": None,
                       "tenants": int(size[i]), "address": addr[i], "area_id": g["id"], "area_path": g["path"],
                       "unplaced": False, "status": "active", "closed_at": None, "row_hash": "demo",
                       "updated_at": now})
    n_prem = rng.poisson(hh_n * PREMISES_PER_HOUSEHOLD)
    kinds = [k for k, _ in PREMISES_KINDS]
    kind_idx = rng.choice(len(kinds), size=int(n_prem.sum()), p=[s for _, s in PREMISES_KINDS])
    checked_ago = rng.gamma(2.0, 110.0, size=len(kind_idx)).astype(int)
    grid_of_prem = np.repeat(np.arange(len(micro)), n_prem).tolist()
    for j, (g, k, ago) in enumerate(zip(grid_of_prem, kind_idx.tolist(), checked_ago.tolist())):
        m = micro[g]
        places.append({"kind": "premises", "place_key": f"DEMO-P{j + 1:06d}", "name": f"{m['name'][:6]}{kinds[k]}{j % 97 + 1}号",
                       "category": kinds[k], "licence": f"92510107MA{j:08d}", "contact_name": None, "contact_phone": None,
                       "fire_checked_on": date.fromordinal(today.toordinal() - ago), "tenants": None,
                       "address": f"{m['community']}{m['name']}底商{j % 20 + 1}号", "area_id": m["id"],
                       "area_path": m["path"], "unplaced": False, "status": "active", "closed_at": None,
                       "row_hash": "demo", "updated_at": now})
    return {"household": households, "resident": residents, "place": places}


def seed_people(conn, specs, id_of: dict, seed: int, now: datetime) -> dict[str, int]:
    """Generate and write the people of the micro-grids among `specs`; recount the registry."""
    from governance.people import people_stats
    from governance.core.timeutil import to_local

    names = {s.code: s.name for s in specs if s.level == "community"}
    micro = [{"id": id_of[s.code], "path": s.path, "name": s.name, "households": s.households,
              "residents": s.residents, "community": names.get(s.parent_code.rsplit("-", 1)[0], "")}
             for s in specs if s.level == "micro_grid"]
    rows = generate_people(micro, seed, now)
    with progress(total=sum(map(len, rows.values())), desc="写入人口底数", unit="行") as bar:
        for table, key in ((Household.__table__, "household"), (Resident.__table__, "resident"),
                           (Place.__table__, "place")):
            insert_rows(conn, table, rows[key])
            bar.update(len(rows[key]))
    people_stats.rebuild(conn, to_local(now).date())
    return {k: len(v) for k, v in rows.items()}
