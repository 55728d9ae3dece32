"""The POS API v1 (SPEC §7): what terminals and forecourt controllers call."""
