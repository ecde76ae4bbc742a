"""Rubric definitions and labeled example replies. Data only (plus the composer that wrote composed-v1)."""
