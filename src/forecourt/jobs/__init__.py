"""Scheduled and on-demand batch jobs (X5): ``forecourt jobs run NAME --at ISO-TIME``."""
