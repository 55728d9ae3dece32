"""Device credentials for POS terminals and forecourt controllers: signed requests, replay protection (S4)."""
