"""Staff accounts, roles and permissions, bearer tokens."""
