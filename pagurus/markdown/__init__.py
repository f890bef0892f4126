"""Markdown rendering with forge references, sanitized (being written)."""
