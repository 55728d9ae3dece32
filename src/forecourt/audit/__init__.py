"""The audit log: who did what to which entity, before and after, in the same transaction (X2)."""
