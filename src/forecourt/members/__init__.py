"""Members and identity: registration, phones, plates, cards, member codes, profiles, tags, privacy."""
