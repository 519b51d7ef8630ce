"""Demo sign-ins for the one-command demo: one account per role and a wall device, printed at start.

Passwords and the device link are random per database and kept in instance/demo_accounts.txt
(mode 0600); a production deployment never runs this (it creates its administrator by command).
"""
from __future__ import annotations

import secrets
from pathlib import Path

from sqlalchemy import select

from governance.accounts.accounts import create_device, create_user
from governance.accounts.department_accounts import create_department_user
from governance.core.config import PROJECT_ROOT
from governance.models import Area, Staff, UserAccount
from governance.events.queries import world_info
from governance.core.timeutil import utcnow

from .demo_tasks import busiest_grid, give_open_tasks

ACCOUNTS_FILE = PROJECT_ROOT / "instance" / "demo_accounts.txt"


def ensure_demo_accounts(engine, path: Path = ACCOUNTS_FILE) -> str:
    """Create the demo accounts once (when the database has none) and return the text to print."""
    now = utcnow()
    with engine.begin() as conn:
        if conn.execute(select(UserAccount.id).limit(1)).first() is None:
            focus = world_info(conn).get("focus_code")
            community = conn.execute(select(Area.code).where(Area.level == "community",
                                                             Area.path.like(f"%/{focus}/%")).order_by(Area.code)).scalar()
            grid = busiest_grid(conn, community)  # the demo worker's phone opens to real tasks
            staff = conn.execute(select(Staff.id, Staff.name).where(Staff.area_id == grid.id)
                                 .order_by(Staff.id)).first() if grid else None
            lines = [f"# {engine.url.render_as_string(hide_password=True)}",
                     "演示账号（仅演示用；密码随机生成，保存在 instance/demo_accounts.txt）："]
            for username, role, area, name, staff_id in (
                    ("admin", "admin", None, "系统管理员", None),
                    ("leader", "subdistrict_leader", focus, "街道领导", None),
                    ("community", "community_staff", community, "社区工作人员", None),
                    ("gridworker", "grid_worker", grid.code if grid else community, staff.name if staff else "网格员",
                     staff.id if staff else None),
                    ("viewer", "viewer", focus, "只读查看", None)):
                password = secrets.token_urlsafe(9)
                create_user(conn, username, password, role if grid or role != "grid_worker" else "community_staff",
                            area, now, display_name=name, staff_id=staff_id, actor="demo")
                lines.append(f"  {username:<11} {password:<14} {role}")
            if staff is not None and grid is not None:
                give_open_tasks(conn, staff.id, now)  # the demo worker's phone opens to real tasks
            password = secrets.token_urlsafe(9)  # a department (吹哨报到) serving the sub-district
            create_department_user(conn, "wuye", password, "property", focus, now, actor="demo")
            lines.append(f"  {'wuye':<11} {password:<14} department（物业服务企业）")
            playlist = [{"view": f"#area={focus}&metric=warning", "seconds": 60},
                        {"view": f"#area={community}&metric=open", "seconds": 30}]
            token = create_device(conn, "指挥中心大屏", focus, now, "demo", playlist)
            lines.append(f"  大屏设备链接：/kiosk/{token}")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            path.chmod(0o600)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if not text.startswith(f"# {engine.url.render_as_string(hide_password=True)}\n"):
        return "此数据库的演示账号不是本机生成的：请用 `python app.py create-admin NAME` 创建管理员"
    return text.split("\n", 1)[1]
