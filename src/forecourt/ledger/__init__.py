"""The double-entry ledger: points now, wallet money later (SPEC §3, L1–L6)."""
