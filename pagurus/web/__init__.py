"""Flask: server-rendered UI (``ui``) and the Pagure-compatible API (``api``)."""
