"""Event topics and the outbox."""
