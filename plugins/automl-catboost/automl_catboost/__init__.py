"""CatBoost for automl."""
