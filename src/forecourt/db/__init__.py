"""Database plumbing: engines, sessions per request, the declarative base, the outbox."""
