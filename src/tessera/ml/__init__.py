"""Featurize, train, calibrate, infer, cluster; model versions and their metrics."""
