"""Brand → regions → stations, pumps and nozzles, fuel grades and prices over time (S1, S2)."""
