"""The forge's rules. Functions take a DB session and the acting user, check
access, change data and record events; they know nothing of HTTP or Celery."""
