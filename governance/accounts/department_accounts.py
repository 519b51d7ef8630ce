"""Department accounts (吹哨报到): a `department` role account tied to one department and the area it serves."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select

from .accounts import create_user, log_access
from ..models import Department, DepartmentAccount


def create_department_user(conn, username: str, password: str, department_code: str, area_code: str,
                           now: datetime, display_name: str | None = None, actor: str = "system") -> int:
    """Create a department account for `department_code` serving `area_code`; ValueError on bad input."""
    name = conn.execute(select(Department.name).where(Department.code == (department_code or ""))).scalar()
    if name is None:
        raise ValueError(f"未知部门 {department_code}")
    if not area_code:
        raise ValueError("职能部门账号需要 --area（其服务的街道或社区）")
    uid = create_user(conn, username, password, "department", area_code, now,
                      display_name=display_name or name, actor=actor)
    conn.execute(insert(DepartmentAccount), [{"user_id": uid, "department_code": department_code}])
    log_access(conn, actor, "department_link", now, target=username, detail=department_code)
    return uid
