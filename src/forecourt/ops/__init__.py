"""Operations: health, readiness, Prometheus metrics (X6)."""
