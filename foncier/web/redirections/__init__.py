"""Redirections between EPCIs and the case of a project (placeholder until helper B fills it)."""
