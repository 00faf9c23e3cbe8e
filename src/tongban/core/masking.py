"""Masking of personal data for display (脱敏). Unmasked values are shown only where logged."""

from __future__ import annotations


def mask_id_number(value: str) -> str:
    """``330106199001011234`` → ``3301**********1234``."""
    if len(value) < 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_mobile(value: str) -> str:
    """``13812345678`` → ``138****5678``."""
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_name(value: str) -> str:
    """``张三`` → ``张*``; ``欧阳小明`` → ``欧***``."""
    if len(value) <= 1:
        return value
    return value[0] + "*" * (len(value) - 1)
