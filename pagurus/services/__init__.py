"""Long-running daemons (supervisor, and later ssh, event source, webhooks)."""
