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


ADDRESS_KEPT = 9  # 省市区: "浙江省杭州市西湖区" names the district, not the door


def mask_address(value: str) -> str:
    """``浙江省杭州市西湖区文三路90号`` → ``浙江省杭州市西湖区******``: at most the first
    ``ADDRESS_KEPT`` characters and never more than half of them are kept."""
    kept = min(ADDRESS_KEPT, len(value) // 2)
    return value[:kept] + "*" * (len(value) - kept)
