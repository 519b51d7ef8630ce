"""Masking of personal data (phones, names, ID numbers) for display to roles that need no more."""
from __future__ import annotations


def mask_phone(phone: str | None) -> str:
    """Mask a phone number keeping the first 3 and last 4 digits: 199****3456."""
    if not phone:
        return ""
    digits = phone.strip()
    if len(digits) <= 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_name(name: str | None) -> str:
    """Mask a personal name keeping the surname: 张** ."""
    if not name:
        return ""
    return name[0] + "*" * (len(name) - 1)
