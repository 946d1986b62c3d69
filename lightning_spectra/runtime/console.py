"""A quiet console: no product tips, no warnings that only Lightning's own code can fix."""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

#: Lightning's INFO lines that advertise other products ("💡 Tip: ... try installing litlogger/litmodels").
PRODUCT_TIP = "💡 Tip:"
#: Lightning 2.6's own ``_pytree`` helper trips this torch deprecation on every fit; nothing a user can change.
PYTREE_DEPRECATION = r"`isinstance\(treespec, LeafSpec\)` is deprecated"
#: The model summary cannot size bf16 weights and says so on every automatic-bf16 fit; it counts them as float32,
#: which is what the weights are (autocast keeps float32 parameters), so the line tells the user nothing.
BF16_SUMMARY = r"Precision bf16-mixed is not supported by the model summary"


class _DropProductTips(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(PRODUCT_TIP)


def quiet_console() -> None:
    """Drop Lightning's product tips, the ``_pytree`` deprecation warning and the model summary's bf16 note;
    other messages are untouched."""
    tip_logger = logging.getLogger("lightning.pytorch.utilities.rank_zero")  # where rank_zero_info logs
    if not any(isinstance(f, _DropProductTips) for f in tip_logger.filters):
        tip_logger.addFilter(_DropProductTips())
    warnings.filterwarnings("ignore", message=PYTREE_DEPRECATION, category=FutureWarning)
    warnings.filterwarnings("ignore", message=BF16_SUMMARY)


@contextmanager
def command_line_set_aside() -> Iterator[None]:
    """Run a ``SpectraCLI(args=...)`` inside a command of our own (cross-validation, a sweep worker) without
    LightningCLI's warning that it got both ``args`` and command-line arguments: those are the outer
    command's, already read, so ``sys.argv`` holds only the program name meanwhile."""
    outer = sys.argv[1:]
    sys.argv[1:] = []
    try:
        yield
    finally:
        sys.argv[1:] = outer
