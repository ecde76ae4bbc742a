"""The web UI views: what each page draws, escaped, with no business logic."""
