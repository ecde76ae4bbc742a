"""support-dojo: embeddings, classifiers, channel rules, scorecards, services and the dojo CLI."""
