"""The search: the space, the Optuna study, the loop over worker processes, and the final model."""
