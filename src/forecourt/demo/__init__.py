"""Demo data: a small Kunming fuel chain to explore the product with (`forecourt demo`)."""
