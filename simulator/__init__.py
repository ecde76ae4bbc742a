"""The conversation: scenarios, channels, the simulated customer, its model backends, sessions, the knowledge
base, what a reply does, settings and model files.

The lowest layer: it imports nothing from scoring, dojo, app or ui (tests/test_layout.py keeps it so).
"""
