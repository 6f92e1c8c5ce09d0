"""What a person sees of a fit: the progress bar, the summary, plots, explanations and the HTML report.

``progress.py`` (the bar while it searches), ``console.py`` (log verbosity, the
fit's warnings), ``summary.py`` (``repr`` and the notebook's HTML summary),
``plots.py`` (``automl.plot``), ``explain.py`` (``automl.explain``) and
``html.py`` (``automl.report``). Plots need matplotlib (``automl[report]``),
SHAP values the shap package (``automl[explain]``); the rest needs neither.
"""
