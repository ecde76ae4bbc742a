"""The judge: rubric, sentence embeddings, classifiers, scorer, channel rules, scorecard, agreement statistics.

It knows nothing of users, databases or the web (tests/test_layout.py keeps it so).
"""
