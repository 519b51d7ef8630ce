"""Command-line administration: the first administrator, users, wall devices, API clients, embed tokens."""
from __future__ import annotations

import getpass
import json
import sys
from datetime import timedelta

from ..accounts.accounts import create_device, create_user, revoke_device, rotate_device, set_active, set_password
from ..accounts.admin_ops import cli_state, record_cli
from ..accounts.api_clients import create_client
from ..core.config import secret_key
from ..accounts.department_accounts import create_department_user
from ..core.embed_tokens import EmbedTokenError, mint_embed_token
from ..core.timeutil import utcnow

ACTOR = "命令行管理员"


def _password(args) -> str:
    """A new password from standard input (--password-stdin) or typed twice at a prompt."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("新密码：")
    if first != getpass.getpass("再次输入："):
        raise ValueError("两次输入的密码不一致")
    return first


def run_admin_command(args, settings, engine) -> int:
    """Run token / create-admin / user (create or --disable/--enable/--reset-password) / device / embed-token."""
    try:
        if args.command == "token":
            _need(args.name, "python app.py token NAME [--scope push|embed] [--area CODE]")
            print(create_client(engine, args.name, args.scope, args.area))
        elif args.command == "user" and (args.disable or args.enable or args.reset_password):
            usage = "python app.py user USERNAME --disable | --enable | --reset-password [--password-stdin]"
            _need(args.name, usage)
            if args.disable + args.enable + args.reset_password > 1:
                raise ValueError(f"用法：{usage}（只能选一项）")
            if args.reset_password:
                password = _password(args)
                with engine.begin() as conn:
                    set_password(conn, args.name, password, utcnow(), actor=ACTOR)
                    record_cli(conn, ACTOR, "password_set", "user", args.name, None, utcnow())
                print(f"用户 {args.name} 的密码已重置，其登录会话已全部结束")
            else:
                with engine.begin() as conn:
                    before = cli_state(conn, "user", args.name)[1]
                    set_active(conn, args.name, args.enable, utcnow(), ACTOR)
                    record_cli(conn, ACTOR, "user_enable" if args.enable else "user_disable", "user", args.name,
                               before, utcnow())
                print(f"用户 {args.name} " + ("已启用" if args.enable else "已停用，其登录会话已全部结束"))
        elif args.command in ("create-admin", "user"):
            _need(args.name, f"python app.py {args.command} USERNAME" + (" --role ROLE --area CODE" if args.command == "user" else ""))
            role = "admin" if args.command == "create-admin" else args.role
            _need(role, "--role is required")
            with engine.begin() as conn:
                if role == "department":  # 吹哨报到: the account speaks for one department
                    create_department_user(conn, args.name, _password(args), getattr(args, "department", None),
                                           args.area, utcnow(), actor=ACTOR)
                else:
                    create_user(conn, args.name, _password(args), role, args.area, utcnow(), actor=ACTOR)
                record_cli(conn, ACTOR, "user_create", "user", args.name, None, utcnow())
            print(f"已创建用户 {args.name}（{role}）")
        elif args.command == "device":
            _need(args.name, "python app.py device NAME --area CODE | --rotate | --revoke")
            with engine.begin() as conn:
                before = cli_state(conn, "device", args.name)[1]
                if args.revoke:
                    revoke_device(conn, args.name, utcnow(), ACTOR)
                    record_cli(conn, ACTOR, "device_revoke", "device", args.name, before, utcnow())
                    print(f"设备 {args.name} 已停用")
                    return 0
                if args.rotate:
                    token = rotate_device(conn, args.name, utcnow(), ACTOR)
                    record_cli(conn, ACTOR, "device_rotate", "device", args.name, before, utcnow())
                else:
                    _need(args.area, "--area is required for a new device")
                    token = create_device(conn, args.name, args.area, utcnow(), ACTOR,
                                          json.loads(args.playlist) if args.playlist else None)
                    record_cli(conn, ACTOR, "device_create", "device", args.name, None, utcnow())
            print(f"/kiosk/{token}")
        elif args.command == "embed-token":
            _need(args.area, "python app.py embed-token --area CODE [--panels kpis,map] [--ttl 600]")
            print(mint_embed_token(secret_key(settings), args.area, utcnow(), args.panels.split(","),
                                   timedelta(seconds=args.ttl), portal="命令行"))
    except (ValueError, EmbedTokenError) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    return 0


def _need(value, usage: str) -> None:
    if not value:
        raise ValueError(f"用法：{usage}")
