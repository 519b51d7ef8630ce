"""Generate grid staff with duty shifts, and the departments that can be whistled in."""
from __future__ import annotations

import numpy as np

from governance.core.taxonomy import Taxonomy

from . import names

SHIFTS = [
    {"code": "regular", "name": "常规班", "weekdays": "12345", "start": "08:30", "end": "17:30"},
    {"code": "staggered", "name": "错时班", "weekdays": "23456", "start": "10:00", "end": "19:00"},
    {"code": "extended", "name": "延时班", "weekdays": "12345", "start": "12:00", "end": "21:00"},
    {"code": "weekend", "name": "周末值班", "weekdays": "67", "start": "09:00", "end": "18:00"},
    {"code": "volunteer", "name": "志愿者（晚间）", "weekdays": "1234567", "start": "18:00", "end": "21:30"},
    {"code": "rider", "name": "骑手在途", "weekdays": "1234567", "start": "10:00", "end": "22:00"},
]
_SPECIALTIES = ["综合执法", "安全生产", "市场监管", "消防"]
_VOLUNTEER_KINDS = ["党员志愿者", "退休居民", "物业人员", "楼栋长"]


def generate_staff(areas: list[dict], rng: np.random.Generator) -> list[dict]:
    """Return staff rows for populated areas: leaders, workers, volunteers, riders, specialists.

    `areas` are dicts with id, level, code, parent_id of the areas already written.
    """
    staff: list[dict] = []

    def add(role, area_id, shift, volunteer=False, party=None, specialty=None):
        staff.append({
            "name": names.person_name(rng), "role": role, "area_id": area_id,
            "phone": names.phone_number(rng), "is_volunteer": volunteer,
            "is_party_member": bool(rng.random() < (party if party is not None else 0.5)),
            "specialty": specialty, "shift_code": shift,
        })

    worker_shifts = ["regular", "regular", "staggered", "extended", "weekend"]
    for area in areas:
        level = area["level"]
        if level == "subdistrict" and area["populated"]:
            for i in range(12):
                add("specialist", area["id"], "regular", specialty=_SPECIALTIES[i % len(_SPECIALTIES)])
        elif level == "community":
            add("grid_leader", area["id"], "regular", party=0.95)
            for _ in range(int(rng.integers(1, 4))):
                add("mobile_worker", area["id"], "rider", volunteer=True, party=0.2,
                    specialty="外卖骑手" if rng.random() < 0.7 else "快递员")
        elif level == "general_grid":
            add("grid_worker", area["id"], worker_shifts[int(rng.integers(len(worker_shifts)))],
                party=0.6, specialty="专职网格员")
        elif level in ("micro_grid", "dedicated_grid"):
            add("micro_grid_worker", area["id"], "volunteer", volunteer=True, party=0.6,
                specialty=_VOLUNTEER_KINDS[int(rng.integers(len(_VOLUNTEER_KINDS)))])
    # 社区党风政风廉情监督员: one per community, who follows supervised items (督办) to the end. A separate
    # generator, appended last, so adding them changes nobody else in the world.
    sup_rng = np.random.default_rng(len(staff))
    for area in areas:
        if area["level"] == "community":
            staff.append({"name": names.person_name(sup_rng), "role": "supervisor", "area_id": area["id"],
                          "phone": names.phone_number(sup_rng), "is_volunteer": False, "is_party_member": True,
                          "specialty": "社区党风政风廉情监督员", "shift_code": "regular"})
    return staff


def department_rows(taxonomy: Taxonomy, rng: np.random.Generator) -> list[dict]:
    """Return the department rows of the taxonomy with generated duty phone numbers."""
    return [{"code": d["code"], "name": d["name"], "kind": d["kind"],
             "phone": "028-" + "".join(str(int(x)) for x in rng.integers(0, 10, 8))}
            for d in taxonomy.departments.values()]
