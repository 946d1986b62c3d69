"""A quiet console: no product tips, no deprecation warnings that only Lightning's own code can fix."""

from __future__ import annotations

import logging
import warnings

#: Lightning's INFO lines that advertise other products ("💡 Tip: ... try installing litlogger/litmodels").
PRODUCT_TIP = "💡 Tip:"
#: Lightning 2.6's own ``_pytree`` helper trips this torch deprecation on every fit; nothing a user can change.
PYTREE_DEPRECATION = r"`isinstance\(treespec, LeafSpec\)` is deprecated"


class _DropProductTips(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(PRODUCT_TIP)


def quiet_console() -> None:
    """Drop Lightning's product tips and the ``_pytree`` deprecation warning; other messages are untouched."""
    tip_logger = logging.getLogger("lightning.pytorch.utilities.rank_zero")  # where rank_zero_info logs
    if not any(isinstance(f, _DropProductTips) for f in tip_logger.filters):
        tip_logger.addFilter(_DropProductTips())
    warnings.filterwarnings("ignore", message=PYTREE_DEPRECATION, category=FutureWarning)
