"""Everything that touches a repository."""
