"""Evaluation: eval sets, pure metrics, the runner behind `privacy-assistant eval`, baselines."""
