"""Shared test set-up: every test gets its own data cache and offline, prompt-free W&B."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

CONF = Path(__file__).parent / "conf"
ROOT = Path(__file__).parent.parent


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    # One cache per test session: tests share preprocessed ramps but never touch the user's cache.
    monkeypatch.setenv("LIGHTNING_SPECTRA_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")


def write_xy(path: Path, x: np.ndarray, y: np.ndarray, header_lines: int = 3) -> Path:
    """Write a two-column spectrum file with a detector-style header."""
    header = "".join(f"# header line {i}\n" for i in range(header_lines))
    path.write_text(header + "".join(f"{a:.6f} {b:.6f}\n" for a, b in zip(x, y, strict=True)))
    return path


def every_model(package: str = "lightning_spectra.models", sequences: bool | None = None) -> list:
    """pytest parameters of every model the registry finds in ``package``, named by class (``sequences``: only
    the models that do, or do not, read a batch as sequences): what the model tests are parametrised over, so
    a new model module is tested with no list to edit."""
    from lightning_spectra.models import SequenceClassifier
    from lightning_spectra.models.registry import models_in

    classes = models_in(package).values()
    if sequences is not None:
        classes = [cls for cls in classes if issubclass(cls, SequenceClassifier) == sequences]
    return [pytest.param(cls, id=cls.__name__) for cls in classes]


#: The tiny run the command-line tests share (the CNN on a 512-point ramp, 2 epochs), and what every model's tiny
#: config is derived from (:func:`tiny_config`).
TINY_RUN = CONF / "cnn_tiny.yaml"
_TINY_FOLDER: list[Path] = []  # where the derived tiny configs are written, made at first use


@functools.cache
def tiny_config(name: str) -> Path:
    """The tiny config of the registry's model ``name``, derived rather than copied: :data:`TINY_RUN`'s ramp and
    trainer, the model's shipped ``configs/<name>.yaml`` (its class and layouts, and its ramp settings), and its
    class's ``tiny_arguments``; logs under ``<name>_tiny``. So a new model needs no tiny file of its own."""
    import json
    import tempfile

    import yaml

    from lightning_spectra.models.registry import model_classes
    from lightning_spectra.runtime.composed_configs import load_config, merge
    from lightning_spectra.runtime.shipped_files import CONFIGS

    run = yaml.safe_load(TINY_RUN.read_text())
    shipped = load_config(CONFIGS.folder / f"{name}.yaml")
    tiny = json.loads(json.dumps(model_classes()[name].tiny_arguments))  # tuples as lists: plain YAML
    data = shipped.get("data", {})
    same_data = data.get("class_path") == run["data"]["class_path"]  # another datamodule's options would not fit
    overlay = {
        "model": merge(shipped["model"], {"init_args": tiny}),
        "data": merge(data, run["data"]) if same_data else run["data"],
        "trainer": {"logger": {"init_args": {"name": f"{name}_tiny"}}},
    }
    if not _TINY_FOLDER:
        _TINY_FOLDER.append(Path(tempfile.mkdtemp(prefix="lightning-spectra-tiny-")))
    path = _TINY_FOLDER[0] / f"{name}_tiny.yaml"
    path.write_text(yaml.safe_dump(merge(run, overlay), sort_keys=False))
    return path


def tiny_config_path(config: str) -> Path:
    """``config`` in ``tests/conf``, or, for ``<model>_tiny.yaml`` that has no file there, :func:`tiny_config`."""
    path = CONF / config
    if path.exists() or not config.endswith("_tiny.yaml"):
        return path
    return tiny_config(config.removesuffix("_tiny.yaml"))


def tiny_args(subcommand: str, save_dir: Path, config: str = "cnn_tiny.yaml", *extra: str) -> list[str]:
    """CLI arguments for a tiny run whose logs go to ``save_dir`` (``config``: see :func:`tiny_config_path`)."""
    path = tiny_config_path(config)
    return [subcommand, "--config", str(path), "--trainer.logger.init_args.save_dir", str(save_dir), *extra]


def run_folder(save_dir: Path, name: str = "cnn_tiny") -> Path:
    """The newest ``version_N`` run folder of ``name`` under a logger's ``save_dir``."""
    return max((save_dir / name).glob("version_*"), key=lambda p: int(p.name.split("_")[1]))


def fit_files_tiny(tmp_path_factory: pytest.TempPathFactory, train: Path, *options: str, epochs: int = 3) -> Path:
    """The run folder of a tiny fit (``files_tiny.yaml``) on ``train`` with ``options``, no test after it: what
    module fixtures of checkpoint, watch and export tests train their models with (a few seconds)."""
    from lightning_spectra.cli import main

    save_dir = tmp_path_factory.mktemp("fit")
    with pytest.MonkeyPatch.context() as env:  # module fixtures run before the per-test cache setting above
        env.setenv("LIGHTNING_SPECTRA_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
        main(
            tiny_args(
                "fit",
                save_dir,
                "files_tiny.yaml",
                "--data.init_args.train_path",
                str(train),
                "--trainer.max_epochs",
                str(epochs),
                "--test_after_fit",
                "false",
                *options,
            )
        )
    return run_folder(save_dir, "files_tiny")


def cli_failure(args: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str]:
    """Run the CLI expecting it to stop (never with a traceback): its exit status and the last line on stderr."""
    from lightning_spectra.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(args)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return exit_info.value.code, err.strip().splitlines()[-1]


def recorded_figures(patch: pytest.MonkeyPatch) -> dict:
    """The matplotlib figures saved while ``patch`` is active, by file name (they are still written): what tests
    read labels and titles from."""
    from lightning_spectra.plots import figure

    drawn, save = {}, figure.save_figure

    def keep(fig, path, *args, **kwargs):
        drawn[Path(path).name] = fig
        return save(fig, path, *args, **kwargs)

    patch.setattr(figure, "save_figure", keep)
    return drawn


def fit_keeping_epoch_0(
    tmp_path_factory: pytest.TempPathFactory, name: str, spectra: int, callbacks: list[dict], **checkpoint
) -> tuple[Path, Path, dict]:
    """A 3-epoch fit of ``files_tiny.yaml`` plus ``callbacks`` on ``spectra`` peak spectra of three classes whose
    checkpoint keeps epoch 0 (the highest validation loss), so the tested weights are not the last; the run
    folder, the training file and the figures drawn. ``checkpoint``: more ModelCheckpoint settings."""
    import yaml
    from spectra_tables import peak_spectra, write_table

    from lightning_spectra.cli import main

    folder = tmp_path_factory.mktemp(name)
    train = write_table(folder / "train.csv", *peak_spectra(spectra))
    config = yaml.safe_load((CONF / "files_tiny.yaml").read_text())
    config["trainer"]["callbacks"][0]["init_args"].update(monitor="val/loss", mode="max", **checkpoint)
    config["trainer"]["callbacks"] += callbacks
    (folder / "worst.yaml").write_text(yaml.safe_dump(config))
    with pytest.MonkeyPatch.context() as env:  # module fixtures run before the per-test cache setting above
        env.setenv("LIGHTNING_SPECTRA_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
        drawn = recorded_figures(env)
        args = ["fit", "--config", str(folder / "worst.yaml"), "--trainer.logger.init_args.save_dir", str(folder)]
        data = ["--data.init_args.train_path", str(train), "--data.init_args.linear_baseline", "false"]
        main([*args, *data, "--trainer.max_epochs", "3"])
    return run_folder(folder, "files_tiny"), train, drawn


def memory_datamodule(
    train: object = None, val: object = None, test: object = None, predict: object = None, batch_size: int | None = None
):
    """A real :class:`SpectraDataModule` over splits given in memory (objects with ``spectra`` and ``labels``),
    for tests of what callbacks and models read from a datamodule; a missing split is ``None``."""
    from lightning_spectra.data.base import SpectraDataModule, SpectraSplits

    class MemoryDataModule(SpectraDataModule):
        def build_splits(self) -> SpectraSplits:
            length = next(s.spectra.shape[1] for s in (train, val, test, predict) if s is not None)
            return SpectraSplits(np.arange(length), train, val, test, ["0", "1"], predict)

    return MemoryDataModule(batch_size=batch_size, progress=False)


# The regression acceptance command on a folder's X_TRAIN.ts and X_TEST.ts (issue 33's figures).
def acceptance_args(tmp: Path, model: str, *extra: str) -> list[str]:
    return [
        "fit",
        "--config",
        str(ROOT / "configs/examples/files_ucr.yaml"),
        "--data.init_args.train_path",
        str(tmp / "X_TRAIN.ts"),
        "--data.init_args.test_path",
        str(tmp / "X_TEST.ts"),
        "--data.init_args.task",
        "regression",
        "--model",
        model,
        "--trainer.logger.init_args.save_dir",
        str(tmp / "logs"),
        "--trainer.enable_progress_bar",
        "false",
        "--trainer.enable_model_summary",
        "false",
        *extra,
    ]
