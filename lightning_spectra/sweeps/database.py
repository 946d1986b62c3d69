"""A study in a database server (PostgreSQL) that machines join at the same time and that survives a restart.

What a real server showed, and what is done about it here:

* Two machines starting on an empty database both create Optuna's tables; one of them loses the race with
  ``duplicate key value violates unique constraint "pg_type_typname_nsp_index"``. Opening the storage is
  retried: the second attempt finds the tables the first one made.
* While the server is down or restarting, every call raises (``OperationalError``, wrapped by Optuna in a
  ``StorageInternalError``). Optuna's heartbeat thread would die on the first one with a traceback and never
  beat again, so a trial that survived the outage would later be failed as stale while still running. Here a
  heartbeat that cannot be written is skipped (one log line per outage) and the next one is tried as usual.
  Workers and the launcher recognise the lost connection (:func:`is_connection_lost`), say so in one line and
  wait for the server (:func:`wait_for_database`); SQLAlchemy's ``pool_pre_ping`` reconnects once it is back.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable

import optuna
import sqlalchemy.exc

log = logging.getLogger(__name__)
OPEN_ATTEMPTS = 5  # machines racing to create the tables: each attempt after a lost race finds more of them
RECONNECT_EVERY_S = 5.0


def is_connection_lost(err: BaseException) -> bool:
    """The error (or one it was raised from) is the database being unreachable, not a bad query."""
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, sqlalchemy.exc.DBAPIError) and err.connection_invalidated:
            return True
        if isinstance(err, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError):
            return True
        err = err.__cause__ or err.__context__
    return False


def describe(err: BaseException) -> str:
    """The driver's own first line (``connection refused``, ``terminating connection ...``)."""
    root = err
    while root.__cause__ or root.__context__:
        if isinstance(root, sqlalchemy.exc.DBAPIError) and root.orig is not None:
            root = root.orig
            break
        root = root.__cause__ or root.__context__
    lines = [line for line in str(root).splitlines() if line.strip()]
    return lines[0][:200] if lines else type(root).__name__


class ResilientRDBStorage(optuna.storages.RDBStorage):
    """Optuna's ``RDBStorage`` whose heartbeat outlives a database outage (see the module doc)."""

    _heartbeat_lost = False

    def record_heartbeat(self, trial_id: int) -> None:
        try:
            super().record_heartbeat(trial_id)
        except Exception as err:
            if not is_connection_lost(err):
                raise
            if not self._heartbeat_lost:
                log.warning("database unreachable, heartbeat of trial id %d skipped: %s", trial_id, describe(err))
            self._heartbeat_lost = True
        else:
            self._heartbeat_lost = False


def open_database(
    url: str, heartbeat_interval: int, stale_trial_callback: Callable | None = None
) -> optuna.storages.RDBStorage:
    """The study storage at ``url``, with heartbeat and retries; tolerant of a concurrent first start."""
    engine_kwargs = {"pool_pre_ping": True} if not url.startswith("sqlite") else None
    for attempt in range(OPEN_ATTEMPTS):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return ResilientRDBStorage(
                    url,
                    engine_kwargs=engine_kwargs,
                    heartbeat_interval=heartbeat_interval,
                    grace_period=2 * heartbeat_interval,
                    heartbeat_stale_trial_callback=stale_trial_callback,
                )
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError):
            if attempt == OPEN_ATTEMPTS - 1:
                raise
            time.sleep(0.2 * (attempt + 1))  # another machine is creating the tables right now
    raise AssertionError("not reached")


def wait_for_database(
    storage: optuna.storages.BaseStorage, err: BaseException, patience_s: float, who: str = "worker"
) -> None:
    """Log one line, then wait until the database answers again; raise ``err`` after ``patience_s``."""
    log.warning(
        "%s: database unreachable (%s); retrying every %.0f s for up to %.0f s",
        who,
        describe(err),
        RECONNECT_EVERY_S,
        patience_s,
    )
    deadline = time.monotonic() + patience_s
    while time.monotonic() < deadline:
        time.sleep(RECONNECT_EVERY_S)
        try:
            storage.get_all_studies()
        except Exception as again:
            if not is_connection_lost(again):
                raise
            continue
        log.warning("%s: database reachable again", who)
        return
    raise err
