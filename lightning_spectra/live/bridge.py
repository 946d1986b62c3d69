"""``lightning-spectra-watch --bridge``: each train of a Karabo bridge stream analysed as it comes.

Each train's spectra (``--source``, ``--key``: ``(pulses, points)`` or ``(points,)``) go through the checkpoint's
model (ONNX Runtime: 32 pulses a call); a row per pulse is appended to ``--output`` and flushed, one line per
train is printed (train id, pulses, the task's headline), and a running line every few seconds (trains/s, latency
from receipt to row written, trains dropped). A watcher slower than the stream analyses the newest train and
counts the ones it never saw as dropped; a malformed train is one line naming its id, and the watch goes on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lightning_spectra.apps.watch import Classifier, escaped
from lightning_spectra.live.monitor import HeldState, Monitor, Summary
from lightning_spectra.live.receiver import BridgeReceiver
from lightning_spectra.live.results import Publisher, RowsFile
from lightning_spectra.live.trains import MalformedTrainError, read_train

#: Seconds between running lines.
REPORT_EVERY_S = 5.0


@dataclass(frozen=True)
class BridgeOptions:
    """What ``--bridge`` was asked: see ``lightning-spectra-watch --help`` and docs/live.md."""

    endpoint: str
    source: str
    key: str
    socket_type: str = "REQ"
    trains: int | None = None
    output: str | None = None
    axis_key: str | None = None
    timeout: float | None = None
    hold: int = 1
    publish: str | None = None
    publish_socket: str = "REP"


def train_state(classifier: Classifier, columns: dict[str, list[str]]) -> str | None:
    """The state of a train in an ordered series: its pulses' most common predicted class (or label set); None
    for a regressor, whose values have no states."""
    if not classifier.task.class_names:
        return None
    first = np.asarray(next(iter(columns.values())))
    values, counts = np.unique(first, return_counts=True)
    return str(values[counts.argmax()])


def watch_bridge(
    classifier: Classifier,
    options: BridgeOptions,
    emit: Callable[[str], None] = print,
    report_every: float = REPORT_EVERY_S,
) -> Summary:
    """Analyse trains off ``options.endpoint`` until ``options.trains`` were analysed, the stream is quiet for
    ``options.timeout`` seconds or the user interrupts; the numbers of the watch."""
    analyse = lambda spectra: classifier.outputs(classifier.x_axis, spectra)  # noqa: E731  (the model's one call)
    receiver = BridgeReceiver(options.endpoint, options.socket_type)
    rows = publisher = None
    try:
        # The columns of one dummy pulse name the file's header before the first train comes.
        header = classifier.task.prediction_columns(analyse(np.zeros((1, classifier.spectrum_length), np.float32)))
        rows = RowsFile(options.output, list(header)) if options.output else None
        publisher = Publisher(options.publish, options.publish_socket) if options.publish else None
        if publisher is not None:
            emit(f"# serving results on {publisher.endpoint} ({options.publish_socket})")
        monitor, held = Monitor(), HeldState(options.hold)
        engine = "ONNX Runtime" if hasattr(classifier, "session") else "PyTorch"
        emit(f"# waiting for trains from {options.endpoint} ({options.socket_type}); the model runs in {engine}")
        next_report = time.monotonic() + report_every
        try:
            while options.trains is None or monitor.trains < options.trains:
                message = receiver.next(options.timeout)
                if message is None:
                    emit(f"# no train from {options.endpoint} for {options.timeout:g} s: watch ended")
                    break
                try:
                    data, metadata = receiver.decode(message)
                    train = read_train(data, metadata, options.source, options.key, classifier, options.axis_key)
                except MalformedTrainError as err:
                    monitor.seen(err.train_id)
                    monitor.malformed += 1
                    emit(f"train {err.train_id if err.train_id is not None else '?'}\terror: {err}")
                    continue
                except Exception as err:  # noqa: BLE001  (a message the protocol cannot decode: told, not fatal)
                    monitor.malformed += 1
                    emit(f"train ?\terror: not a Karabo bridge message ({escaped(type(err).__name__)})")
                    continue
                monitor.seen(train.train_id)
                outputs = analyse(train.spectra)
                columns = classifier.task.prediction_columns(outputs)
                if rows is not None:
                    rows.write_train(train.train_id, columns)
                monitor.analysed(len(train.spectra), message.received)
                if publisher is not None:
                    publisher.publish(train.train_id, outputs, columns)
                pulses = len(train.spectra)
                emit(f"train {train.train_id}\t{pulses} pulses\t{escaped(classifier.task.headline(columns))}")
                state = train_state(classifier, columns)
                if state is not None and (change := held.update(escaped(state), train.train_id)) is not None:
                    emit(change)
                if time.monotonic() >= next_report:
                    emit(monitor.summary().line())
                    next_report = time.monotonic() + report_every
        except KeyboardInterrupt:
            emit("# interrupted")
        summary = monitor.summary()
        emit(summary.line())
        return summary
    finally:
        for closing in (rows, publisher, receiver):
            if closing is not None:
                closing.close()
