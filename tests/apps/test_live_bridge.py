"""``lightning-spectra-watch --bridge``: a Karabo bridge stream analysed train by train (issue 37), against
karabo_bridge's own ServerInThread bound to 127.0.0.1."""

from __future__ import annotations

import contextlib
import csv
import queue
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import fit_files_tiny
from spectra_tables import peak_spectra, write_table

import lightning_spectra.apps.watch as watch_module
from lightning_spectra.apps.watch import load_classifier, main
from lightning_spectra.data import SpectraFilesDataModule
from lightning_spectra.live.monitor import HeldState, Monitor

karabo_bridge = pytest.importorskip("karabo_bridge")
zmq = pytest.importorskip("zmq")

SOURCE, KEY, AXIS = "HED_EXP_DET/CORR/SPECTRA:output", "data.spectra", "data.x"
PULSES, TRAINS, FIRST_ID = 16, 30, 10_000


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    train = write_table(tmp_path_factory.mktemp("live_data") / "train.csv", *peak_spectra(60, seed=3))
    run = fit_files_tiny(tmp_path_factory, train, "--data.init_args.preprocessing.smoothing_window", "7", epochs=5)
    return run / "checkpoints" / "last.ckpt"


@pytest.fixture(scope="module")
def regressor(tmp_path_factory: pytest.TempPathFactory) -> Path:
    x, spectra, _ = peak_spectra(60, seed=3)
    heights = [f"{10 + 5 * h:.4f}" for h in spectra.max(axis=1)]  # far from 0 and 1: not standardised
    train = write_table(tmp_path_factory.mktemp("live_regression") / "train.csv", x, spectra, heights)
    run = fit_files_tiny(tmp_path_factory, train, "--data.init_args.task", "regression")
    return run / "checkpoints" / "last.ckpt"


def stream_spectra(trains: int = TRAINS, seed: int = 21) -> tuple[np.ndarray, np.ndarray]:
    """``(x, spectra (trains, pulses, points))``, rounded as the table ``predict`` reads keeps them."""
    x, spectra, _ = peak_spectra(trains * PULSES, seed=seed, jitter=0.3)
    return x, np.round(spectra, 6).reshape(trains, PULSES, -1)


def predict_outputs(ckpt: Path, x: np.ndarray, spectra: np.ndarray, folder: Path) -> np.ndarray:
    """What ``predict`` gives for ``spectra``: its datamodule (the checkpoint's preprocessing) and model; class
    probabilities or values in the targets' units."""
    path = write_table(folder / "predict.csv", x, spectra, None)
    hparams = torch.load(ckpt, map_location="cpu", weights_only=True)["datamodule_hyper_parameters"]
    dm = SpectraFilesDataModule(
        **{**{k: v for k, v in hparams.items() if not k.startswith("_")}, "predict_path": str(path)}
    )
    model, _ = load_classifier(ckpt)
    with torch.no_grad():
        outputs = model.prediction_outputs(dm.splits.predict.spectra)
        return model.task.exported(outputs).numpy()


def train_data(spectra: np.ndarray, x: np.ndarray | None = None) -> dict:
    return {SOURCE: {KEY: spectra} | ({} if x is None else {AXIS: x})}


def meta(train_id: int) -> dict:
    return {SOURCE: {"source": SOURCE, "timestamp.tid": train_id}}


class Stream:
    """A ServerInThread on 127.0.0.1 fed in a thread at ``rate`` Hz once the watcher connected; ``latest``: the
    train id fed last. A full server queue lets a train go, as a detector's stream does not wait."""

    def __init__(self, sock: str, trains: list[tuple[dict, dict]], rate: float = 10.0, stop_after: bool = False):
        self.server = karabo_bridge.ServerInThread("tcp://127.0.0.1:*", sock=sock, maxlen=1)
        self.monitor = self.server.server_socket.get_monitor_socket()  # before the server thread owns the socket
        self.trains, self.period, self.stop_after, self.latest = trains, 1 / rate, stop_after, None
        self.thread = threading.Thread(target=self._feed, daemon=True)
        self.stopped = False

    @property
    def endpoint(self) -> str:
        return self.server.server_socket.getsockopt_string(zmq.LAST_ENDPOINT)

    def _connected(self, timeout: float = 120) -> None:
        from zmq.utils.monitor import recv_monitor_message

        self.monitor.setsockopt(zmq.RCVTIMEO, int(timeout * 1000))
        while recv_monitor_message(self.monitor)["event"] != zmq.EVENT_HANDSHAKE_SUCCEEDED:
            pass

    def _feed(self) -> None:
        self._connected()
        start = time.monotonic()
        for i, (data, metadata) in enumerate(self.trains):
            time.sleep(max(0.0, start + i * self.period - time.monotonic()))
            with contextlib.suppress(queue.Full):  # the train is lost upstream: its id is never seen
                self.server.feed(data, metadata, block=False)
            self.latest = next(iter(metadata.values()))["timestamp.tid"]
        if self.stop_after:
            time.sleep(self.period)
            self.stop()

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            self.monitor.close()
            self.server.stop()


@contextmanager
def streaming(sock: str, trains: list[tuple[dict, dict]], **kwargs) -> Iterator[Stream]:
    stream = Stream(sock, trains, **kwargs)
    stream.server.start()
    stream.thread.start()
    try:
        yield stream
    finally:
        stream.thread.join(timeout=30)
        stream.stop()


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def watch_args(ckpt: Path, stream: Stream, *extra: str) -> list[str]:
    return ["--ckpt_path", str(ckpt), "--bridge", stream.endpoint, "--source", SOURCE, "--key", KEY, *extra]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_acceptance_30_trains_of_16_pulses_give_480_rows_as_predict(
    checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """PULL from a PUSH server at 10 Hz: a row per pulse, classes as predict's, probabilities within 1e-4; each
    train's results are served again on --publish (a karabo_bridge Client reads them)."""
    x, spectra = stream_spectra()
    expected = predict_outputs(checkpoint, x, spectra.reshape(-1, len(x)), tmp_path)
    port, published = free_port(), []

    def read_published() -> None:
        with karabo_bridge.Client(f"tcp://127.0.0.1:{port}", timeout=60) as client:
            published.append(client.next())

    reader = threading.Thread(target=read_published, daemon=True)
    trains = [(train_data(s, x), meta(FIRST_ID + i)) for i, s in enumerate(spectra)]
    with streaming("PUSH", trains) as stream:
        reader.start()
        args = ["--bridge_socket", "PULL", "--trains", "30", "--output", str(tmp_path / "live.csv"), "--axis_key", AXIS]
        main(watch_args(checkpoint, stream, *args, "--publish", f"tcp://127.0.0.1:{port}", "--timeout", "60"))
    reader.join(timeout=30)
    rows = read_rows(tmp_path / "live.csv")
    assert len(rows) == TRAINS * PULSES
    assert [(int(r["train_id"]), int(r["pulse"])) for r in rows] == [
        (FIRST_ID + t, p) for t in range(TRAINS) for p in range(PULSES)
    ]
    model, _ = load_classifier(checkpoint)
    assert [r["predicted_class"] for r in rows] == [model.class_names[k] for k in expected.argmax(axis=1)]
    got = np.asarray([[float(r[f"p({c})"]) for c in model.class_names] for r in rows])
    np.testing.assert_allclose(got, expected, atol=1e-4)
    np.testing.assert_allclose([float(r["probability"]) for r in rows], expected.max(axis=1), atol=1e-4)

    out = capsys.readouterr().out.splitlines()
    train_lines = [line for line in out if line.startswith("train ")]
    assert len(train_lines) == TRAINS and train_lines[0].startswith(f"train {FIRST_ID}\t16 pulses\tpredicted_class ")
    assert out[-1].startswith("# 30 trains (480 rows), ") and out[-1].endswith(", 0 dropped, 0 malformed")

    ((data, metadata),) = published  # results of a train as karabo_bridge serves them
    (source,) = data
    tid = metadata[source]["timestamp.tid"]
    first = (tid - FIRST_ID) * PULSES
    np.testing.assert_allclose(data[source]["outputs"], expected[first : first + PULSES], atol=1e-4)
    assert list(data[source]["predicted_class"]) == [r["predicted_class"] for r in rows[first : first + PULSES]]


def test_acceptance_a_regressors_rows_are_predicts_values(
    regressor: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """REQ to the default REP server: each pulse's predicted value within 1e-4 (relative) of predict's."""
    x, spectra = stream_spectra()
    expected = predict_outputs(regressor, x, spectra.reshape(-1, len(x)), tmp_path)[:, 0]
    assert expected.mean() > 5  # in the target's units
    trains = [(train_data(s), meta(FIRST_ID + i)) for i, s in enumerate(spectra)]
    with streaming("REP", trains) as stream:
        main(watch_args(regressor, stream, "--trains", "30", "--output", str(tmp_path / "live.csv"), "--timeout", "60"))
    rows = read_rows(tmp_path / "live.csv")
    assert len(rows) == TRAINS * PULSES and list(rows[0]) == ["train_id", "pulse", "predicted_target"]
    np.testing.assert_allclose([float(r["predicted_target"]) for r in rows], expected, rtol=1e-4)
    assert "\tmean predicted_target " in next(
        line for line in capsys.readouterr().out.splitlines() if line.startswith("train ")
    )


def test_a_stream_that_stops_ends_the_watch_after_timeout_with_one_line_rows_kept(
    checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    x, spectra = stream_spectra(5)
    trains = [(train_data(s), meta(FIRST_ID + i)) for i, s in enumerate(spectra)]
    with streaming("PUSH", trains, stop_after=True) as stream:
        endpoint = stream.endpoint
        started = time.monotonic()
        main(
            watch_args(
                checkpoint, stream, "--bridge_socket", "PULL", "--output", str(tmp_path / "live.csv"), "--timeout", "1"
            )
        )
    assert time.monotonic() - started < 60
    assert len(read_rows(tmp_path / "live.csv")) == 5 * PULSES
    out = capsys.readouterr().out.splitlines()
    assert sum(line.startswith("# no train from") for line in out) == 1
    assert f"# no train from {endpoint} for 1 s: watch ended" in out


def test_malformed_trains_are_one_line_each_naming_the_train_and_the_watch_goes_on(
    checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    x, spectra = stream_spectra(3)
    nan = spectra[1].copy()
    nan[4, 17] = np.nan
    trains = [
        (train_data(spectra[0], x), meta(1)),
        ({SOURCE: {"other.key": spectra[1], AXIS: x}}, meta(2)),  # missing key
        (train_data(spectra[1][None]), meta(3)),  # (1, pulses, points): wrong shape
        (train_data(nan), meta(4)),
        (train_data(spectra[1][:, :-5]), meta(5)),  # wrong number of points
        ({"OTHER/SOURCE:output": {KEY: spectra[1]}}, {"OTHER/SOURCE:output": {"timestamp.tid": 6}}),
        (train_data(spectra[1], x + 50), meta(7)),  # another x axis
        (train_data(spectra[2][0], x), meta(8)),  # one spectrum (points,): one pulse
    ]
    with streaming("PUSH", trains) as stream:
        args = ("--bridge_socket", "PULL", "--trains", "2", "--output", str(tmp_path / "live.csv"), "--axis_key", AXIS)
        main(watch_args(checkpoint, stream, *args, "--timeout", "30"))
    out = capsys.readouterr().out.splitlines()
    errors = [line for line in out if "\terror: " in line]
    assert [line.split("\t")[0] for line in errors] == [f"train {i}" for i in range(2, 8)]
    assert errors[0].endswith(f"source {SOURCE} has no key {KEY} (keys: {AXIS}, other.key)")
    assert "has shape (1, 16, 240)" in errors[1]
    assert "1 NaN or infinite values in 1 pulse(s), first pulse 4" in errors[2]
    assert "235 points per pulse but the model expects 240" in errors[3]
    assert "no source HED_EXP_DET/CORR/SPECTRA:output in it (sources: OTHER/SOURCE:output)" in errors[4]
    assert "x axis differs from the model's" in errors[5]
    rows = read_rows(tmp_path / "live.csv")
    assert [int(r["train_id"]) for r in rows] == [1] * PULSES + [8]
    assert out[-1].endswith(", 0 dropped, 6 malformed")


def test_a_model_slower_than_the_stream_takes_the_newest_train_and_counts_the_dropped(
    checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """A model taking 0.35 s a train at 10 Hz: the newest train each time (the lag to the stream stays a
    train or two: nothing queues), the trains it never analysed counted as dropped."""
    x, spectra = stream_spectra(30)
    trains = [(train_data(s), meta(FIRST_ID + i)) for i, s in enumerate(spectra)]
    lags: list[int] = []
    outputs = watch_module.OnnxClassifier.outputs

    with streaming("PUSH", trains, stop_after=True) as stream:

        def slow(self, x: np.ndarray, batch: np.ndarray) -> np.ndarray:
            if len(batch) == PULSES:  # a train's (the header's call has one pulse): which one, by its spectra
                (index,) = np.flatnonzero((spectra[:, 0].astype(np.float32) == batch[0]).all(axis=1))
                lags.append(stream.latest - (FIRST_ID + index))
            time.sleep(0.35)
            return outputs(self, x, batch)

        monkeypatch.setattr(watch_module.OnnxClassifier, "outputs", slow)
        main(
            watch_args(
                checkpoint, stream, "--bridge_socket", "PULL", "--output", str(tmp_path / "live.csv"), "--timeout", "2"
            )
        )
    ids = list(dict.fromkeys(int(r["train_id"]) for r in read_rows(tmp_path / "live.csv")))
    assert 3 <= len(ids) <= 15 and ids == sorted(ids)
    summary = capsys.readouterr().out.splitlines()[-1]
    dropped = int(summary.split(", ")[-2].removesuffix(" dropped"))
    assert dropped == ids[-1] - ids[0] + 1 - len(ids) and dropped >= 10
    # the stream's newest train when each train was analysed: never more than a few ahead (no backlog)
    assert len(lags) == len(ids) and max(lags) <= 3


def test_an_interrupted_watch_keeps_every_row_written(
    checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    x, spectra = stream_spectra(10)
    trains = [(train_data(s), meta(FIRST_ID + i)) for i, s in enumerate(spectra)]
    outputs, calls, csv_file = watch_module.OnnxClassifier.outputs, [], tmp_path / "live.csv"

    def interrupted(self, x: np.ndarray, batch: np.ndarray) -> np.ndarray:
        calls.append(len(read_rows(csv_file)) if csv_file.exists() else None)  # on disk as each train comes
        if len(calls) == 7:  # the header's call and six trains
            raise KeyboardInterrupt
        return outputs(self, x, batch)

    monkeypatch.setattr(watch_module.OnnxClassifier, "outputs", interrupted)
    with streaming("PUSH", trains) as stream:
        main(
            watch_args(
                checkpoint, stream, "--bridge_socket", "PULL", "--output", str(tmp_path / "live.csv"), "--timeout", "30"
            )
        )
    rows = read_rows(tmp_path / "live.csv")
    assert len(rows) == 5 * PULSES and rows[-1]["pulse"] == str(PULSES - 1)
    assert calls == [None, *(k * PULSES for k in range(6))]  # each train's rows flushed before the next came
    assert capsys.readouterr().out.splitlines()[-2] == "# interrupted"


def test_a_state_change_is_told_once_it_held_n_trains() -> None:
    held = HeldState(hold=3)
    told = [held.update(s, i) for i, s in enumerate("aaabbabbbbaa")]
    assert [t for t in told if t] == ["# state: a since train 0", "# state change: a -> b at train 6 (held 3 trains)"]
    assert [i for i, t in enumerate(told) if t] == [2, 8]


def test_dropped_trains_are_the_ids_never_analysed_nor_refused() -> None:
    monitor = Monitor()
    for tid in (5, 6, 9, 10, 14, 2, 3):  # 2: a new run starts the count again
        monitor.seen(tid)
    assert monitor.dropped == 2 + 3


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "give exactly one of --folder (new files) and --bridge (a Karabo bridge stream)"),
        (["--folder", "x", "--bridge", "tcp://h:1"], "give exactly one of --folder"),
        (["--folder", "x", "--trains", "3", "--key", "k"], "--key, --trains: not an option of --folder"),
        (["--bridge", "tcp://h:1", "--source", "s", "--key", "k", "--once"], "--once: not an option of --bridge"),
        (["--bridge", "tcp://h:1", "--key", "k"], "--bridge needs --source (the spectra's source and key)"),
        (["--bridge", "h:1", "--source", "s", "--key", "k"], "--bridge h:1: expected tcp://host:port"),
        (["--bridge", "tcp://h:1", "--source", "s", "--key", "k", "--trains", "0"], "--trains must be 1 or more"),
    ],
)
def test_source_options_are_one_line_before_the_checkpoint_is_read(
    argv: list[str], message: str, capsys: pytest.CaptureFixture
) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--ckpt_path", "missing.ckpt", *argv])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {message}")


def test_without_the_xfel_extra_bridge_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "karabo_bridge", None)
    monkeypatch.setitem(sys.modules, "karabo_bridge.serializer", None)
    with pytest.raises(SystemExit) as stop:
        main(["--ckpt_path", "missing.ckpt", "--bridge", "tcp://127.0.0.1:1", "--source", "s", "--key", "k"])
    assert stop.value.code == 2
    assert (
        capsys.readouterr().err
        == "error: --bridge needs the Karabo bridge client: pip install lightning-spectra[xfel]\n"
    )
