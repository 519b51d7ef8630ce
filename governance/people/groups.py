"""The people registry's rules: special groups (data), ID-number check (GB 11643), keyed hashing, phones."""
from __future__ import annotations

import hashlib
import hmac
import re
from datetime import date
from functools import lru_cache
from pathlib import Path

import yaml

CONFIG_FILE = Path(__file__).with_name("people.yaml")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")


@lru_cache(maxsize=1)
def config() -> dict:
    """The registry's data file (groups, statuses, column names)."""
    return yaml.safe_load(CONFIG_FILE.read_text(encoding="utf-8"))


def groups() -> dict[str, str]:
    """Special groups: code → Chinese name, in display order."""
    return {g["code"]: g["name"] for g in config()["groups"]}


def group_code(label: str) -> str | None:
    """The group code for a Chinese name or a code; None when unknown."""
    label = label.strip()
    for code, name in groups().items():
        if label in (code, name) or (("/" in name) and label in name.split("/")):
            return code
    return None


def check_digit(first17: str) -> str:
    """GB 11643-1999 check character of the first 17 digits."""
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS)) % 11]


def validate_id_number(value: str) -> tuple[str | None, str | None]:
    """(normalised 18-character number, None) or (None, reason in Chinese) for an ID number."""
    v = (value or "").strip().upper().replace(" ", "")
    if not v:
        return None, "缺少身份证号"
    if len(v) != 18:
        return None, f"身份证号应为18位（实为{len(v)}位）"
    if not v[:17].isdigit() or not (v[17].isdigit() or v[17] == "X"):
        return None, "身份证号含非法字符"
    try:
        date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        return None, "身份证号中的出生日期无效"
    if check_digit(v[:17]) != v[17]:
        return None, "身份证号校验位错误（GB 11643）"
    return v, None


def id_key(secret: str) -> bytes:
    """The HMAC key for ID numbers, derived from the app secret (never the secret itself)."""
    return hashlib.sha256(b"gridcockpit/people-id/v1:" + secret.encode("utf-8")).digest()


def id_hmac(number: str, key: bytes) -> str:
    """Keyed hash of a normalised ID number (64 hex characters): matches re-imports, reveals nothing."""
    return hmac.new(key, number.encode("ascii"), hashlib.sha256).hexdigest()


def mask_id(number: str) -> str:
    """Display form of an ID number: region code and last four characters only."""
    return number[:6] + "*" * 8 + number[-4:]


def birth_year(number: str) -> int:
    """Birth year encoded in a valid ID number."""
    return int(number[6:10])


def gender(number: str) -> str:
    """'男' or '女' from the 17th digit of a valid ID number."""
    return "男" if int(number[16]) % 2 else "女"


def validate_phone(value: str | None) -> tuple[str | None, str | None]:
    """(normalised phone or None when empty, None) or (None, reason): mobile 1[3-9]xxxxxxxxx or landline 0xx-xxxxxxx."""
    v = re.sub(r"[\s()（）]", "", str(value or "")).replace("+86", "")
    if v.endswith(".0"):  # Excel keeps numbers as floats
        v = v[:-2]
    if not v:
        return None, None
    if _MOBILE.match(v) or _LANDLINE.match(v):
        return v, None
    return None, f"联系电话格式不正确（{mask_phone_text(v)}）"


def mask_phone_text(v: str) -> str:
    """A phone-like text masked for messages (first 3 and last 2 characters)."""
    return v[:3] + "*" * max(len(v) - 5, 0) + v[-2:] if len(v) > 5 else "*" * len(v)


AGE_BANDS = (("0-17", 0, 17), ("18-59", 18, 59), ("60-79", 60, 79), ("80+", 80, 200))


def age_band(year: int | None, today: date) -> str:
    """Age band of a birth year on a day ('60-79' …); '' when unknown."""
    if year is None:
        return ""
    age = today.year - year
    return next((band for band, lo, hi in AGE_BANDS if lo <= age <= hi), "")


def small(n: int | None, aggregate_only: bool) -> str:
    """A count as shown: '<3' for 1–2 when only aggregates may be shown (walls, embeds), else the number."""
    if n is None:
        return "—"
    if aggregate_only and 0 < n < 3:
        return "<3"
    return f"{n:,}"
