"""The database storage's handling of a lost server, without a server: a port nothing listens on."""

from __future__ import annotations

import logging
from pathlib import Path

import optuna
import pytest
import sqlalchemy
from pg_server import free_port

from lightning_spectra.sweeps.database import ResilientRDBStorage, describe, is_connection_lost, open_database


def unreachable_error() -> Exception:
    """What Optuna raises when the server is down: a StorageInternalError from SQLAlchemy's OperationalError."""
    engine = sqlalchemy.create_engine(f"postgresql+psycopg://u:p@127.0.0.1:{free_port()}/db")
    try:
        try:
            engine.connect()
        except sqlalchemy.exc.OperationalError as err:
            raise optuna.exceptions.StorageInternalError("An exception is raised during the commit.") from err
    except optuna.exceptions.StorageInternalError as wrapped:
        return wrapped
    raise AssertionError("connected to a port nothing listens on")


def test_a_lost_connection_is_told_apart_from_other_errors() -> None:
    err = unreachable_error()
    assert is_connection_lost(err) and "Connection refused" in describe(err)
    assert "\n" not in describe(err)
    assert not is_connection_lost(ValueError("Cannot tell a FAIL trial."))
    assert not is_connection_lost(sqlalchemy.exc.IntegrityError("INSERT", {}, Exception("duplicate key")))


@pytest.mark.filterwarnings("ignore:Heartbeat of storage is supposed to be used with Study.optimize")
def test_the_heartbeat_skips_beats_while_the_server_is_away(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    storage = open_database(f"sqlite:///{tmp_path / 'study.db'}", heartbeat_interval=1)
    assert isinstance(storage, ResilientRDBStorage)
    study = optuna.create_study(storage=storage)
    trial = study.ask()
    storage.record_heartbeat(trial._trial_id)  # server up
    unreachable = sqlalchemy.create_engine(f"postgresql+psycopg://u:p@127.0.0.1:{free_port()}/db")
    reachable, storage.scoped_session = (
        storage.scoped_session,
        sqlalchemy.orm.scoped_session(sqlalchemy.orm.sessionmaker(bind=unreachable)),
    )
    with caplog.at_level(logging.WARNING):
        for _ in range(3):  # no exception: Optuna's heartbeat thread would die on one
            storage.record_heartbeat(trial._trial_id)
    ours = [r.getMessage().split(",")[0] for r in caplog.records if r.name == "lightning_spectra.sweeps.database"]
    assert ours == ["database unreachable"]  # once per outage
    storage.scoped_session = reachable
    storage.record_heartbeat(trial._trial_id)  # back: beats again
    assert not storage._heartbeat_lost
