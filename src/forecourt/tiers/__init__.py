"""Tiers (T1–T4): levels with benefits, qualification over a window, upgrades at once, monthly
evaluation with grace and one-level downgrades, manual overrides with an expiry, history."""
