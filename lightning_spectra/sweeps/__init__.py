"""Optuna hyperparameter sweeps over the LightningCLI configs, one W&B run per trial (``python sweep.py``).

``spec`` reads a sweep file, ``space`` turns its dotted keys into Optuna distributions and back into config
values, ``storage`` opens the shared study, ``objective`` runs one trial, ``worker`` loops over trials,
``budget`` and ``orphans`` decide when to stop and what to retry, ``launch`` starts the workers and
``report`` prints and writes the best configs. See docs/sweeps.md.
"""
