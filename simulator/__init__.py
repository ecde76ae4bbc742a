"""support-dojo: the simulated customer, scenarios, channels, sessions and model files."""
