"""Lightning's ``WandbLogger`` without the ``anonymous`` setting W&B has dropped, and with a console switch.

Lightning 2.6 hands ``wandb.init`` ``anonymous=None`` on every run, and W&B (0.19 on) answers each with "The
anonymous setting has no effect and will be removed in a future version". W&B reads ``WANDB_CONSOLE`` once per
process, so whether a run captures the console is chosen per run here (``console``), as W&B's init settings.
The command line puts this class in place of Lightning's
(:func:`~lightning_spectra.runs.wandb_runs.complete_wandb_loggers`); it takes the same arguments.
"""

from __future__ import annotations

from lightning.pytorch.loggers import WandbLogger as LightningWandbLogger


class WandbLogger(LightningWandbLogger):
    """Lightning's ``WandbLogger``, same arguments; ``anonymous`` reaches ``wandb.init`` only when given.

    Args:
        console: W&B's console capture for this run (``wrap``: stdout and stderr into the run's ``output.log``;
            ``off``); ``None`` leaves it to ``WANDB_CONSOLE``. Given ``settings`` win.
    """

    def __init__(self, *args, console: str | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self._wandb_init.get("anonymous", "given") is None:  # None is Lightning's "not given"
            del self._wandb_init["anonymous"]
        if console is not None and self._wandb_init.get("settings") is None:
            self._wandb_init["settings"] = {"console": console}
