"""Everything a fitted model pickles: the schema, the table cleaner, the ensembles, and how a pipeline is built.

A saved ``best_pipeline_`` depends on this package, on the public modules
(``automl.specs``, ``automl.exceptions``) and on the plugins whose components
it holds, and on nothing else of ``automl``: nothing here imports the search,
the workers or the fit-time checks.
"""
