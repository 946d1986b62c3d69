"""End to end through ``train.py``'s entry point: bad input and faults end in one clear line and a
non-zero exit (never a traceback, never exit 0 with a wrong result), and predict needs only the checkpoint.

Each test names its case in docs/reliability.md. Runs are in-process (``main([...])``) on tiny data.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import CONF, cli_failure, run_folder, tiny_args
from spectra_tables import peak_spectra, write_table

from lightning_spectra.cli import main


def files_args(subcommand: str, save_dir: Path, *extra: str) -> list[str]:
    return tiny_args(subcommand, save_dir, "files_tiny.yaml", "--trainer.max_epochs", "2", *extra)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny CNN fitted on three classes (alpha, beta, gamma) of 240 points: (training file, checkpoint)."""
    data = tmp_path_factory.mktemp("data")
    train = write_table(data / "train.csv", *peak_spectra(45, seed=3))
    save_dir = tmp_path_factory.mktemp("fit")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LIGHTNING_SPECTRA_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
        main(files_args("fit", save_dir, "--data.init_args.train_path", str(train), "--test_after_fit", "false"))
    return train, run_folder(save_dir, "files_tiny") / "checkpoints" / "last.ckpt"


# ---------------------------------------------------------------------------------- predicting with only the checkpoint
def test_predict_needs_only_the_checkpoint_and_names_classes_as_trained(trained, tmp_path: Path) -> None:
    """The training file relabelled since (alpha <-> gamma) and then deleted: names come from the checkpoint."""
    train, ckpt = trained
    x, spectra, _ = peak_spectra(6, seed=9, jitter=0.2)
    new = write_table(tmp_path / "new.csv", x, spectra, None)
    relabelled = tmp_path / "relabelled.csv"
    relabelled.write_text(train.read_text().replace("alpha", "zeta"))

    def predict(*extra: str) -> list[dict]:
        main(files_args("predict", tmp_path / "logs", "--ckpt_path", str(ckpt), *extra))
        with open(ckpt.parent.parent / "predict" / "predictions.csv") as f:  # the checkpoint's run
            return list(csv.DictReader(f))

    rows = predict("--data.init_args.predict_path", str(new))  # no train_path at all
    assert [r["spectrum"] for r in rows] == [f"new_{i}" for i in range(6)]  # the header is not a spectrum
    assert list(rows[0])[-3:] == ["p(alpha)", "p(beta)", "p(gamma)"]  # the model's own names, in its order
    assert {r["predicted_class"] for r in rows} <= {"alpha", "beta", "gamma"}
    again = predict("--data.init_args.train_path", str(relabelled), "--data.init_args.predict_path", str(new))
    assert again == rows  # a relabelled training file changes nothing


# ----------------------------------------------------------------------------------- fits that train nothing or diverge
def test_a_non_finite_loss_stops_the_fit(trained, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    train, _ = trained
    code, line = cli_failure(
        files_args("fit", tmp_path, "--data.init_args.train_path", str(train), "--model.init_args.lr", "1e12"), capsys
    )
    assert code == 1 and line.startswith("error: training loss or weights became NaN or infinite in epoch")
    assert "lower the learning rate (model.init_args.lr is 1000000000000.0)" in line
    for ckpt in tmp_path.rglob("*.ckpt"):  # no checkpoint of the poisoned weights to resume from
        state = torch.load(ckpt, map_location="cpu", weights_only=True)["state_dict"]
        assert all(torch.isfinite(w).all() for w in state.values() if w.is_floating_point()), ckpt


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("--trainer.max_epochs=0", "error: trainer.max_epochs is 0 and trainer.max_steps -1; fit would train nothing"),
        ("--trainer.limit_train_batches=0", "error: fit ran no training step (is trainer.limit_train_batches 0?)"),
    ],
)
def test_a_fit_that_trains_nothing_fails(
    option: str, message: str, trained, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    train, _ = trained
    code, line = cli_failure(
        files_args("fit", tmp_path, "--data.init_args.train_path", str(train), option, "--test_after_fit", "false"),
        capsys,
    )
    assert code == 1 and line.startswith(message)


# ---------------------------------------------------------------------------------------------------- datamodule errors
@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--data.init_args.source", "directory"], "error: source 'directory' needs --data.data_dir"),
        (["--data.init_args.split.val_fraction", "1.5"], "error: split.val_fraction must be between 0 and 1, got 1.5"),
    ],
)
def test_datamodule_errors_wrapped_by_the_parser_are_one_line(
    options: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    args = tiny_args("fit", tmp_path, "cnn_tiny.yaml", *options)
    if "split" in options[0]:
        args = files_args("fit", tmp_path, "--data.init_args.train_path", str(tmp_path / "t.csv"), *options)
    code, line = cli_failure(args, capsys)
    assert code == 2 and line.startswith(message)


# ---------------------------------------------------------------------------- settings and checkpoints that cannot work
@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ["--data.init_args.simulated_points", "12"],
            "error: spectra of 12 points are too short for the CNN; it needs at least 17",
        ),
        (["--model.init_args.lr", "-0.001"], "error: model.init_args.lr must be above 0, got -0.001"),
    ],
)
def test_settings_that_cannot_work_are_refused(
    options: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert cli_failure(tiny_args("fit", tmp_path, "cnn_tiny.yaml", *options), capsys) == (2, message)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such checkpoint file"),
        (b"", "checkpoint file is empty"),
        (b"this is not a checkpoint\n", "not a readable checkpoint (truncated, damaged or not written by train.py)"),
        ("truncated", "not a readable checkpoint (truncated, damaged or not written by train.py)"),
    ],
)
def test_a_bad_checkpoint_file_is_one_line(
    content, message: str, trained, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    train, ckpt = trained
    bad = tmp_path / "bad.ckpt"
    if content == "truncated":
        bad.write_bytes(ckpt.read_bytes()[:20000])
    elif content is not None:
        bad.write_bytes(content)
    for subcommand in ("predict", "fit"):
        args = files_args(subcommand, tmp_path, "--data.init_args.train_path", str(train), "--ckpt_path", str(bad))
        code, line = cli_failure(args, capsys)
        assert code == 2 and line.startswith(f"error: {bad}: {message}")


def test_a_checkpoint_of_another_length_or_class_count_is_refused(
    trained, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    _, ckpt = trained
    x, spectra, labels = peak_spectra(30, length=200, seed=4)
    shorter = write_table(tmp_path / "short.csv", x, spectra, labels)
    x, spectra, labels = peak_spectra(30, seed=4)
    keep = [i for i, label in enumerate(labels) if label != "gamma"]
    two = write_table(tmp_path / "two.csv", x, spectra[keep], [labels[i] for i in keep])

    code, line = cli_failure(
        files_args("test", tmp_path, "--data.init_args.train_path", str(shorter), "--ckpt_path", str(ckpt)), capsys
    )
    assert code == 2
    assert line == (
        f"error: {ckpt}: the model was trained on spectra of 240 points, but the SpectraFilesDataModule data has "
        "spectra of 200"
    )
    code, line = cli_failure(
        files_args("fit", tmp_path, "--data.init_args.train_path", str(two), "--ckpt_path", str(ckpt)), capsys
    )
    assert code == 2
    assert line == (
        f"error: {ckpt}: the model was trained on classes ['alpha', 'beta', 'gamma'], but the "
        "SpectraFilesDataModule data has classes ['alpha', 'beta']"
    )
    new = write_table(tmp_path / "new.csv", *peak_spectra(3, length=200)[:2], None)
    code, line = cli_failure(
        files_args("predict", tmp_path, "--data.init_args.predict_path", str(new), "--ckpt_path", str(ckpt)), capsys
    )
    assert (
        code == 2
        and line == f"error: {ckpt}: the model was trained on spectra of 240 points, but {new} has spectra of 200"
    )


# ------------------------------------------------------------------------------- options and config files
def one_line(args: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str]:
    """Run the CLI expecting it to stop with one ``error:`` line and no usage dump: its status and that line."""
    code, line = cli_failure(args, capsys)
    assert line.startswith("error: ")
    return code, line


def test_a_config_error_is_one_line_naming_the_culprit(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A wrong type, a misspelt key (with the nearest known one), an unknown class: one line, not the usage."""
    misspelt = tmp_path / "misspelt.yaml"
    misspelt.write_text((CONF / "cnn_tiny.yaml").read_text().replace("max_epochs:", "max_epcohs:"))
    cases = [
        (["--trainer.max_epochs", "two"], "error: trainer.max_epochs: expected int, got 'two'"),
        (["--model.init_args.lr", "fast"], "error: model.init_args.lr: expected float, got 'fast'"),
        (
            ["--trainer.max_epcohs", "2"],
            "error: trainer.max_epcohs: no such option; did you mean trainer.max_epochs?",
        ),
        (
            ["--data.init_args.noise_copis", "2"],
            "error: data.init_args.noise_copis: no such option; did you mean data.init_args.noise_copies?",
        ),
        (
            ["--model", "lightning_spectra.models.CNNN"],
            "error: model: no class lightning_spectra.models.CNNN; did you mean lightning_spectra.models.CNN?",
        ),
    ]
    for options, message in cases:
        assert one_line(tiny_args("fit", tmp_path, "cnn_tiny.yaml", *options), capsys) == (2, message), options
    code, line = one_line(["fit", "--config", str(misspelt)], capsys)
    assert (code, line) == (2, "error: trainer.max_epcohs: no such option; did you mean trainer.max_epochs?")


def test_a_missing_empty_or_python_tagged_config_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing here\n")
    tagged = tmp_path / "tagged.yaml"
    tagged.write_text('seed_everything: 1\nmodel: !!python/object/apply:os.system ["echo ran"]\n')
    missing = tmp_path / "missing.yaml"
    for path, message in [
        (missing, f"error: {missing}: no such config file"),
        (empty, f"error: {empty}: the config file is empty"),
        (
            tagged,
            f"error: {tagged}, line 2: tag !!python/object/apply:os.system is not allowed: configs are plain YAML",
        ),
    ]:
        assert one_line(["fit", "--config", str(path)], capsys) == (2, message)
    assert "ran" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--data.init_args.batch_size", "-3", "error: data.init_args.batch_size must be at least 1, got -3"),
        (
            "--data.init_args.split.seed",
            "-1",
            "error: data.init_args.split.seed must be between 0 and 4294967295, got -1",
        ),
        ("--trainer.max_epochs", "-3", "error: trainer.max_epochs must be at least -1, got -3"),
    ],
)
def test_a_negative_numeric_option_is_refused_before_anything_is_built(
    option: str, value: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    args = files_args("fit", tmp_path, "--data.init_args.train_path", str(tmp_path / "not-read.csv"), option, value)
    assert one_line(args, capsys) == (2, message)


def test_an_accelerator_this_machine_lacks_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from lightning.pytorch.accelerators import CUDAAccelerator, MPSAccelerator

    monkeypatch.setattr(CUDAAccelerator, "is_available", staticmethod(lambda: False))  # as on a CPU-only machine
    monkeypatch.setattr(MPSAccelerator, "is_available", staticmethod(lambda: False))
    for name in ("gpu", "cuda"):
        code, line = one_line(tiny_args("fit", tmp_path, "cnn_tiny.yaml", "--trainer.accelerator", name), capsys)
        assert code == 2
        assert line == f"error: trainer.accelerator is '{name}' but this machine has no such device; use cpu or auto"


class _Configured(Exception):  # noqa: N818 - not an error: carries the config out
    """Stops a CLI once its config is final, before anything is built."""


def configured(args: list[str]):
    """The subcommand's config after :meth:`SpectraCLI.before_instantiate_classes` (nothing is built)."""
    from lightning_spectra.cli import SpectraCLI

    class Stop(SpectraCLI):
        def instantiate_classes(self) -> None:
            raise _Configured(self.config[self.subcommand])

    with pytest.raises(_Configured) as stopped:
        Stop(args=args)
    return stopped.value.args[0]


@pytest.mark.parametrize(
    "value",
    [
        "lightning_spectra.callbacks.Timing",  # Lightning's documented form: one class replaces the list
        '{"class_path": "lightning_spectra.callbacks.Timing"}',
    ],
)
def test_callbacks_given_as_one_class_get_the_progress_bar(value: str, tmp_path: Path) -> None:
    config = configured(
        tiny_args(
            "fit", tmp_path, "cnn_tiny.yaml", f"--trainer.callbacks={value}", "--trainer.enable_progress_bar=true"
        )
    )
    paths = [c.class_path for c in config.trainer.callbacks]
    assert paths == ["lightning_spectra.callbacks.Timing", "lightning_spectra.runtime.progress.SpectraProgressBar"]


def test_callback_entries_reads_every_form() -> None:
    from jsonargparse import Namespace

    from lightning_spectra.callbacks import Timing
    from lightning_spectra.runtime.config_checks import callback_entries, class_path

    timing = "lightning_spectra.callbacks.Timing"
    for given in (
        timing,
        {"class_path": timing},
        Namespace(class_path=timing),
        [timing],
        [Namespace(class_path=timing)],
    ):
        assert [class_path(c) for c in callback_entries(given)] == [timing], given
    assert [class_path(c) for c in callback_entries([Timing()])] == ["lightning_spectra.callbacks.timing.Timing"]
    assert callback_entries(None) == []


# ------------------------------------------------------------------------------------ the machine's faults
def test_a_full_disk_while_a_checkpoint_is_written_leaves_no_partial_file(
    trained, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """The first epoch's checkpoint is written; the disk fills up half-way through the second's."""
    from faults import full_disk

    train, _ = trained
    full_disk(monkeypatch, ".ckpt", after=1)
    args = files_args("fit", tmp_path, "--data.init_args.train_path", str(train), "--test_after_fit", "false")
    code, line = one_line(args, capsys)
    assert code == 1
    assert line.startswith("error: ") and line.endswith(
        ": could not write the checkpoint (No space left on device); the earlier checkpoints are kept"
    )
    folder = run_folder(tmp_path, "files_tiny") / "checkpoints"
    names = sorted(p.name for p in folder.iterdir())
    assert len(names) == 2 and names[0].startswith("epoch=0-") and names[1] == "last.ckpt", names  # nothing partial
    state = torch.load(folder / "last.ckpt", map_location="cpu", weights_only=True)
    assert state["epoch"] == 0


def test_a_read_only_log_folder_is_one_line(
    trained, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from faults import read_only

    train, _ = trained
    logs = read_only(tmp_path / "logs", monkeypatch)
    args = files_args("fit", logs, "--data.init_args.train_path", str(train), "--test_after_fit", "false")
    assert one_line(args, capsys) == (2, f"error: cannot write {logs / 'files_tiny'}: Permission denied")


# ------------------------------------------------------------------------------------ regression targets
@pytest.mark.parametrize(
    ("targets", "message"),
    [
        (1e12 + np.linspace(0, 10, 45), "float32, which the model computes in, cannot resolve a spread of"),
        (1e39 * np.linspace(1, 2, 45), "beyond float32's 3.40282e+38; rescale the targets"),
    ],
)
def test_regression_targets_float32_cannot_hold_are_refused_naming_the_file(
    targets: np.ndarray, message: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Targets 1e12 + [0, 10] all became one float32 value (RMSE 0, R^2 1: a perfect fit reported);
    targets above float32's range made the loss infinite, blamed on the learning rate."""
    x, spectra, _ = peak_spectra(45, seed=3)
    train = write_table(tmp_path / "targets.csv", x, spectra, [repr(float(t)) for t in targets])
    args = files_args("fit", tmp_path, "--data.init_args.train_path", str(train), "--data.init_args.task", "regression")
    code, line = one_line(args, capsys)
    assert code == 2 and line.startswith(f"error: {train}: target ranges from ") and message in line
