"""Trainer-authored scenario files (YAML), their JSON Schema and knowledge-base articles. Data only."""
