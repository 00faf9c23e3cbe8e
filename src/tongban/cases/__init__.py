"""Cases (办件): application → 受理/补正/不予受理 → 审查 by department tasks in stages → 决定 →
送达 → 办结, with clock stops, deadlines and an append-only event trail."""
