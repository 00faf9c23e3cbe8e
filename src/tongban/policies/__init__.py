"""惠企/惠民 policies: 一企一档/一人一档 profiles, policies → 兑现事项 as typed rules, single and
batch evaluation with explanations (政策体检), simulation, runs (免申即享/即申即享) and the
exactly-once payment ledger. Reference: docs/policy-rules.md, docs/adr/0005-policy-rules.md.
"""
