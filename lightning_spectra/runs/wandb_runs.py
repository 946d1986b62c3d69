"""W&B without surprises: offline unless this machine holds credentials (never a prompt), and a run's summary
copied into the W&B runs it logged to."""

from __future__ import annotations

import netrc
import os


def wandb_has_credentials() -> bool:
    """True if an API key is in the environment or in ``~/.netrc`` (where ``wandb login`` puts it)."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        auth = netrc.netrc(os.environ.get("NETRC")).authenticators("api.wandb.ai")
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False
    return bool(auth and auth[2])


def quiet_wandb_without_account() -> None:
    """Make W&B log offline when there is no account, unless the user chose a mode; silence login prompts."""
    if "WANDB_MODE" not in os.environ and not wandb_has_credentials():
        os.environ["WANDB_MODE"] = "offline"
    os.environ.setdefault("WANDB_SILENT", "true")
    os.environ.setdefault("WANDB_CONSOLE", "off")


def summary_to_wandb(loggers: list, summary: dict, finish: bool = True) -> None:
    """Copy a run's summary numbers into the summary of every W&B run it logs to, then finish those runs.

    Finishing matters when several runs share one process (tests, notebooks, the report): W&B would otherwise
    append the next run to this one. A caller that adds to the run afterwards (a sweep trial) finishes it itself.
    """
    from lightning.pytorch.loggers import WandbLogger

    numbers = {k: v for k, v in summary.items() if isinstance(v, int | float | str) and not isinstance(v, bool)}
    for logger in loggers:
        if isinstance(logger, WandbLogger):
            logger.experiment.summary.update(numbers)
            if finish:
                logger.experiment.finish()
