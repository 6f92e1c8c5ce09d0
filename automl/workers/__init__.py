"""Worker processes that evaluate and fit pipelines, and can be killed at any moment."""
