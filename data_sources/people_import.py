"""Import of the street's population platform (居民, 出租房, 经营场所) into the people registry.

Idempotent: residents match on a keyed hash of their ID number, places on their platform key; a row
equal to what is stored changes nothing, a changed row updates, 迁出/死亡/停业 close (never delete).
Every row is stored or quarantined with its reason (ID number, name and phone masked in the quarantine).
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import bindparam, exists, insert, select, update
from sqlalchemy.engine import Engine

from governance.people import groups as people

from governance.people import people_stats
from governance.accounts.accounts import log_access
from governance.core.bulk_rows import insert_rows
from governance.models import Quarantine
from governance.people.people_address import AddressResolver
from governance.models import Household, PeopleImport, Place, Resident
from governance.core.privacy import mask_name
from governance.core.progress import progress
from governance.core.timeutil import to_local, utcnow

from .people_files import Table, read_tables

log = logging.getLogger(__name__)
SOURCE = "people"
CHUNK = 5000


@dataclass
class ImportSummary:
    """What one import did; received = inserted + updated + closed + unchanged + quarantined."""

    received: int = 0
    inserted: int = 0
    updated: int = 0
    closed: int = 0
    unchanged: int = 0
    quarantined: int = 0
    unplaced: int = 0  # stored, but no micro-grid (flagged)
    by_kind: dict = field(default_factory=dict)
    reasons: dict = field(default_factory=dict)  # quarantine reason → rows

    def add(self, other: "ImportSummary") -> None:
        """Add another table's counts to these."""
        for k in ("received", "inserted", "updated", "closed", "unchanged", "quarantined", "unplaced"):
            setattr(self, k, getattr(self, k) + getattr(other, k))
        for k, v in other.reasons.items():
            self.reasons[k] = self.reasons.get(k, 0) + v

    def text(self) -> str:
        """One line in Chinese for the command line."""
        line = (f"收到 {self.received:,} 行：新增 {self.inserted:,}，更新 {self.updated:,}，注销/迁出 {self.closed:,}，"
                f"未变 {self.unchanged:,}，隔离 {self.quarantined:,}；其中无法落到微网格 {self.unplaced:,}（已保存并标记）")
        if self.reasons:
            line += "\n隔离原因：" + "；".join(f"{r} × {n}" for r, n in sorted(self.reasons.items(), key=lambda x: -x[1]))
        return line


def _status(kind: str, text: str) -> str | None:
    for code, words in people.config()["status"][kind].items():
        if text in words:
            return code
    return None


def _residence(text: str) -> str | None:
    if not text:
        return "resident"
    return next((code for code, words in people.config()["residence"].items() if text in words), None)


def _hash(*parts) -> str:
    return hashlib.sha1("\x1f".join("" if p is None else str(p) for p in parts).encode("utf-8")).hexdigest()


def _masked_raw(row: dict) -> str:
    """A quarantined row as JSON with its personal fields masked (never a clear ID number)."""
    safe = {}
    for k, v in row.items():
        v = v.isoformat() if isinstance(v, date) else v
        if k == "id_number":
            v = (v[:6] + "*" * max(len(v) - 10, 0) + v[-4:]) if len(v) > 10 else "*" * len(v)
        elif k in ("name", "contact_name"):
            v = mask_name(v)
        elif k in ("phone", "contact_phone"):
            v = people.mask_phone_text(v)
        safe[k] = v
    return json.dumps(safe, ensure_ascii=False)


class _Run:
    """State of one import: the resolver, the clock, the key, quarantined rows."""

    def __init__(self, conn, secret: str, file_name: str, now: datetime):
        self.conn, self.now, self.file_name = conn, now, file_name
        self.key = people.id_key(secret)
        self.resolver = AddressResolver.from_conn(conn)
        self.bad: list[dict] = []
        self.paths: set[str] = set()  # micro-grids whose counts changed

    def reject(self, s: ImportSummary, table: Table, n: int, row: dict, reason: str) -> None:
        s.quarantined += 1
        s.reasons[reason.split("（")[0]] = s.reasons.get(reason.split("（")[0], 0) + 1
        self.bad.append({"source": SOURCE, "source_key": f"{self.file_name[:50]}#{table.name[:16]}#{n}"[:80],
                         "received_at": self.now, "reason": reason, "raw": _masked_raw(row), "resolved": False})

    def place(self, row: dict):
        """(area id, path, unplaced) of a row's address."""
        hit, _reason = self.resolver.resolve(row.get("address", ""), row.get("community") or None)
        return (hit[0], hit[1], False) if hit else (None, None, True)


def _residents(run: _Run, table: Table, bar) -> ImportSummary:
    conn, now, s = run.conn, run.now, ImportSummary()
    digests, checked = {}, {}
    for n, row in table.rows:  # keyed hashes of the file's valid numbers: only those rows are looked up
        checked[n] = number, _ = people.validate_id_number(str(row.get("id_number", "")))
        if number:
            digests[n] = people.id_hmac(number, run.key)
    stored = _lookup(conn, Resident.id_hmac, [Resident.id, Resident.row_hash, Resident.closed_at],
                     set(digests.values()))
    homes = _lookup(conn, Household.hh_key, [Household.id, Household.address, Household.area_path], {_hh_key(r) for _, r in table.rows})
    seen: dict[str, int] = {}
    new_homes: dict[str, dict] = {}
    moved_homes: dict[int, dict] = {}
    inserts, updates = [], []
    for n, row in table.rows:
        s.received += 1
        bar.update(1)
        number, reason = checked[n]
        name = str(row.get("name", "")).strip()
        phone, phone_reason = people.validate_phone(row.get("phone"))
        status = _status("resident", str(row.get("status", "")).strip())
        residence = _residence(str(row.get("residence", "")).strip())
        labels = [x for x in str(row.get("groups", "")).replace("，", "、").replace(",", "、").split("、") if x.strip()]
        codes = [people.group_code(x) for x in labels]
        address = str(row.get("address", "")).strip()
        reason = reason or (None if name else "缺少姓名") or phone_reason
        reason = reason or (None if status else f"未知人员状态（{row.get('status')}）")
        reason = reason or (None if residence else f"未知人口类型（{row.get('residence')}）")
        reason = reason or (f"未知特殊人群（{labels[codes.index(None)]}）" if None in codes else None)
        reason = reason or (None if address else "缺少地址")
        if reason:
            run.reject(s, table, n, row, reason)
            continue
        digest = digests[n]
        if digest in seen:
            run.reject(s, table, n, row, f"同一人在本文件中重复出现（与第{seen[digest]}行）")
            continue
        seen[digest] = n
        hh_key = _hh_key(row)
        groups = "," + ",".join(sorted(set(codes))) + "," if codes else ""
        area_id, path, unplaced = run.place(row)
        home = {"hh_key": hh_key[:64], "address": address[:200], "area_id": area_id,
                "area_path": path, "unplaced": unplaced, "updated_at": now}
        if hh_key not in homes and hh_key not in new_homes:
            new_homes[hh_key] = {**home, "closed_at": None}
        elif hh_key in homes and homes[hh_key][1] != address[:200]:
            moved_homes[homes[hh_key][0]] = {"hid": homes[hh_key][0], **home}  # the household moved
            run.paths.add(homes[hh_key][2] or "")
        row_hash = _hash(digest, name, phone, hh_key, address, residence, groups, status, area_id)
        values = {"id_masked": people.mask_id(number), "name": name[:40], "gender": people.gender(number),
                  "birth_year": people.birth_year(number), "phone": phone, "hh_key": hh_key, "residence": residence,
                  "groups": groups, "status": status, "row_hash": row_hash, "updated_at": now}
        if status != "active":
            values["closed_at"] = now
        else:
            values["closed_at"] = None
        old = stored.get(digest)
        if old is None:
            inserts.append({"id_hmac": digest, **values})
            s.closed += status != "active"
            s.inserted += status == "active"
        elif old[1] == row_hash:
            s.unchanged += 1
            continue
        else:
            if old[2] is not None and status != "active":
                values["closed_at"] = old[2]  # closed earlier: keep when
            updates.append({"rid": old[0], **values})
            if status != "active" and old[2] is None:
                s.closed += 1
            else:
                s.updated += 1
        s.unplaced += unplaced
    insert_rows(conn, Household.__table__, list(new_homes.values()))
    if moved_homes:
        conn.execute(update(Household.__table__).where(Household.__table__.c.id == bindparam("hid"))
                     .values({c: bindparam(c) for c in ("address", "area_id", "area_path", "unplaced", "updated_at")}),
                     list(moved_homes.values()))
    home_id = {k: v[0] for k, v in _lookup(conn, Household.hh_key, [Household.id],
                                          {r["hh_key"][:64] for r in inserts + updates}).items()}
    for r in inserts + updates:
        r["household_id"] = home_id.get(r.pop("hh_key")[:64])
    insert_rows(conn, Resident.__table__, inserts)
    if updates:
        cols = [k for k in updates[0] if k != "rid"]
        stmt = (update(Resident.__table__).where(Resident.__table__.c.id == bindparam("rid"))
                .values({c: bindparam(c) for c in cols}))
        for i in range(0, len(updates), CHUNK):
            conn.execute(stmt, updates[i:i + CHUNK])
    run.paths.update(h["area_path"] for h in [*new_homes.values(), *moved_homes.values()] if h["area_path"])
    touched = {r["household_id"] for r in inserts + updates if r["household_id"]}
    run.paths.update(_close_empty_households(conn, now, touched))
    return s


def _hh_key(row: dict) -> str:
    """The platform's 户编号, or one derived from the address when it gives none."""
    return (str(row.get("hh_key", "")).strip() or
            "addr:" + _hash(people_address_key(str(row.get("address", "")).strip()))[:20])[:64]


def _lookup(conn, key_col, cols: list, keys: set, chunk: int = 900) -> dict:
    """key → the other columns, for the rows whose `key_col` is one of `keys` (looked up in chunks)."""
    out, keys = {}, list(keys)
    for i in range(0, len(keys), chunk):
        out.update({r[0]: tuple(r[1:]) for r in conn.execute(select(key_col, *cols).where(
            key_col.in_(keys[i:i + chunk])))})
    return out


def people_address_key(address: str) -> str:
    """The address in one spelling, for deriving a household key when the platform gives none."""
    from governance.people.people_address import normalise
    return normalise(address)


def _close_empty_households(conn, now: datetime, ids: set[int]) -> set[str]:
    """Of the households `ids`, close those without an active resident and reopen those with one again;
    return the area paths of all of them (their counts change)."""
    active = exists().where(Resident.household_id == Household.id, Resident.closed_at.is_(None))
    ids, paths = list(ids), set()
    for i in range(0, len(ids), 900):
        part = Household.id.in_(ids[i:i + 900])
        conn.execute(update(Household).where(part, Household.closed_at.is_(None), ~active)
                     .values(closed_at=now, updated_at=now).execution_options(synchronize_session=False))
        conn.execute(update(Household).where(part, Household.closed_at.isnot(None), active)
                     .values(closed_at=None, updated_at=now).execution_options(synchronize_session=False))
        paths.update(p for (p,) in conn.execute(select(Household.area_path).where(part)) if p)
    return paths


def _parse_date(v) -> tuple[date | None, bool]:
    if isinstance(v, date):
        return v, True
    text = str(v or "").strip().replace("/", "-").replace(".", "-")
    if not text:
        return None, True
    for fmt in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return datetime.strptime(text, fmt).date(), True
        except ValueError:
            pass
    return None, False


def _places(run: _Run, table: Table, bar) -> ImportSummary:
    conn, now, s, kind = run.conn, run.now, ImportSummary(), table.kind
    kind = "rental" if kind == "rental" else "premises"
    stored = {k: (i, rh, closed, p) for k, i, rh, closed, p in conn.execute(
        select(Place.place_key, Place.id, Place.row_hash, Place.closed_at, Place.area_path).where(Place.kind == kind))}
    seen: dict[str, int] = {}
    inserts, updates = [], []
    for n, row in table.rows:
        s.received += 1
        bar.update(1)
        address = str(row.get("address", "")).strip()
        phone, reason = people.validate_phone(row.get("contact_phone"))
        status = _status("place", str(row.get("status", "")).strip())
        checked, ok = _parse_date(row.get("fire_checked_on"))
        tenants = str(row.get("tenants", "")).strip()
        reason = reason or (None if address else "缺少地址")
        reason = reason or (None if status else f"未知状态（{row.get('status')}）")
        reason = reason or (None if ok else f"消防检查日期无法识别（{row.get('fire_checked_on')}）")
        reason = reason or (None if not tenants or tenants.isdigit() else f"租住人数不是整数（{tenants}）")
        if kind == "premises" and not reason and not str(row.get("category", "")).strip():
            reason = "缺少场所类型"
        key = str(row.get("key", "")).strip() or str(row.get("licence", "")).strip() or \
            "addr:" + _hash(row.get("name", ""), people_address_key(address))[:20]
        if not reason and key in seen:
            reason = f"同一场所在本文件中重复出现（与第{seen[key]}行）"
        if reason:
            run.reject(s, table, n, row, reason)
            continue
        seen[key] = n
        area_id, path, unplaced = run.place(row)
        values = {"name": str(row.get("name", "")).strip()[:120], "category": str(row.get("category", "")).strip() or None,
                  "licence": str(row.get("licence", "")).strip() or None, "fire_checked_on": checked,
                  "contact_name": str(row.get("contact_name", "")).strip()[:40] or None, "contact_phone": phone,
                  "tenants": int(tenants) if tenants else None, "address": address[:200], "area_id": area_id,
                  "area_path": path, "unplaced": unplaced, "status": status, "updated_at": now,
                  "closed_at": None if status == "active" else now}
        values["row_hash"] = _hash(*[values[k] for k in sorted(values) if k not in ("updated_at", "closed_at")])
        old = stored.get(key[:64])
        if old is None:
            inserts.append({"kind": kind, "place_key": key[:64], **values})
            s.inserted += status == "active"
            s.closed += status != "active"
        elif old[1] == values["row_hash"]:
            s.unchanged += 1
            continue
        else:
            if old[2] is not None and status != "active":
                values["closed_at"] = old[2]
            updates.append({"pid": old[0], **values})
            run.paths.add(old[3] or "")
            s.closed += status != "active" and old[2] is None
            s.updated += not (status != "active" and old[2] is None)
        s.unplaced += unplaced
        run.paths.add(path or "")
    insert_rows(conn, Place.__table__, inserts)
    if updates:
        cols = [k for k in updates[0] if k != "pid"]
        stmt = (update(Place.__table__).where(Place.__table__.c.id == bindparam("pid"))
                .values({c: bindparam(c) for c in cols}))
        conn.execute(stmt, updates)
    return s


def import_people(engine: Engine, path: Path, secret: str, actor: str = "cli",
                  now: datetime | None = None) -> ImportSummary:
    """Import every table of a file in one transaction; return the summary (also stored in people_import)."""
    now = now or utcnow()
    tables = read_tables(path)
    total = ImportSummary()
    with engine.begin() as conn, progress(total=sum(len(t.rows) for t in tables), desc="导入人口数据",
                                          unit="行") as bar:
        run = _Run(conn, secret, path.name, now)
        for table in tables:
            s = (_residents if table.kind == "resident" else _places)(run, table, bar)
            total.by_kind[table.kind] = {k: v for k, v in asdict(s).items() if k not in ("by_kind", "reasons")}
            total.add(s)
        if run.bad:
            known = set(conn.execute(select(Quarantine.source_key, Quarantine.reason).where(
                Quarantine.source == SOURCE, Quarantine.resolved.is_(False))).all())
            fresh = [b for b in run.bad if (b["source_key"], b["reason"]) not in known]
            if fresh:
                conn.execute(insert(Quarantine), fresh)
        changed = total.inserted + total.updated + total.closed
        if changed:
            people_stats.rebuild(conn, to_local(now).date(), run.paths)
        summary = json.dumps(asdict(total), ensure_ascii=False)
        conn.execute(insert(PeopleImport), [{"at": now, "actor": actor[:60], "file_name": path.name[:200],
                                             "summary": summary}])
        log_access(conn, actor, "people_import", now, target=path.name[:120], detail=summary[:2000])
    log.info("people import %s: %s", path.name, total.text().splitlines()[0])
    return total
