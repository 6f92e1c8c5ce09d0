"""Scoring pipelines: metrics, evaluation folds, row samples, cross-validation and decision thresholds."""
