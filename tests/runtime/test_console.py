import sys
from pathlib import Path

import pytest

from lightning_spectra.runtime.console import command_line_set_aside


def test_quiet_console_drops_product_tips_only() -> None:
    import logging

    from lightning_spectra.runtime.console import quiet_console

    quiet_console()
    logger = logging.getLogger("lightning.pytorch.utilities.rank_zero")

    def record(msg: str) -> logging.LogRecord:
        return logging.LogRecord(logger.name, logging.INFO, __file__, 1, msg, None, None)

    assert not logger.filter(record("💡 Tip: For seamless cloud logging, try installing litlogger"))
    assert logger.filter(record("GPU available: False, used: False"))


def test_quiet_console_hides_the_pytree_deprecation_and_the_summarys_bf16_note_only() -> None:
    import warnings

    from lightning_spectra.runtime.console import quiet_console

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        quiet_console()
        warnings.warn("`isinstance(treespec, LeafSpec)` is deprecated, use `TreeSpec`", FutureWarning, stacklevel=1)
        warnings.warn("something else is deprecated", FutureWarning, stacklevel=1)
        warnings.warn(
            "Precision bf16-mixed is not supported by the model summary.  Estimated model size in MB will not be "
            "accurate. Using 32 bits instead.",
            UserWarning,
            stacklevel=1,
        )
        warnings.warn("Precision bf16-mixed is not supported by the GPU", UserWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == [
        "something else is deprecated",
        "Precision bf16-mixed is not supported by the GPU",
    ]


def test_a_fit_prints_no_tip_and_no_pytree_warning(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    from conftest import tiny_args

    from lightning_spectra.cli import main

    main(tiny_args("fit", tmp_path, "cnn_tiny.yaml", "--trainer.max_epochs=1", "--trainer.enable_progress_bar=true"))
    out, err = capfd.readouterr()
    assert "Tip" not in out + err + caplog.text and "LeafSpec" not in out + err
    assert "GPU available" in caplog.text + err  # Lightning's other INFO lines still get through
    assert "run summary" in out


def test_the_outer_commands_arguments_are_set_aside_while_a_cli_parses_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "argv", ["cv", "--folds", "2"])
    with command_line_set_aside():
        assert sys.argv == ["cv"]  # LightningCLI(args=...) warns when sys.argv holds more
    assert sys.argv == ["cv", "--folds", "2"]
    with pytest.raises(RuntimeError), command_line_set_aside():
        raise RuntimeError("a failed fold")
    assert sys.argv == ["cv", "--folds", "2"]  # restored however the run ends
