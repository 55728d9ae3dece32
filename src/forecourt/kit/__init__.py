"""Small shared pieces every context may use: clock, ids, money, crypto, pagination, request context."""
