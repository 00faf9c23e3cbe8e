"""Catalog (事项库): base items and per-division implementations, modelled as
事项 → 情形 → 材料 → 字段 → 数源, the data-element dictionary, catalog-as-code and search."""
