"""Celery app and tasks: thin wrappers over core and git."""
