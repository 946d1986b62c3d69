"""The files datamodule's option groups: defaults, checks, and the previous release's flat names."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import tiny_args
from spectra_tables import peak_spectra, write_table

from lightning_spectra.cli import main
from lightning_spectra.data.augment import Augmentation
from lightning_spectra.data.options import (
    MOVED_OPTIONS,
    PreprocessingOptions,
    SplitOptions,
    as_options,
    nested_settings,
    plain,
)
from lightning_spectra.data.preprocess import Preprocessing
from lightning_spectra.errors import SpectraDataError


def test_preprocessing_defaults_are_the_recipe_and_its_steps_leave_out_the_fitted_scaling() -> None:
    options = PreprocessingOptions()
    assert options.scaling == "standard"
    assert options.steps == Preprocessing(smoothing_window=11, smoothing_order=2, derivative=1, normalization="snv")


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: PreprocessingOptions(normalization="l1"), "normalization must be one of"),
        (lambda: PreprocessingOptions(smoothing_window=0), "derivative 1 needs a smoothing_window"),
        (lambda: PreprocessingOptions(scaling="robust"), "scaling must be one of none, standard"),
        (lambda: SplitOptions(val_fraction=1.5), "split.val_fraction must be between 0 and 1, got 1.5"),
        (lambda: SplitOptions(test_fraction=0.9), r"split.val_fraction \+ split.test_fraction must be below 1"),
        (lambda: SplitOptions(folds=3, fold=3), "split.folds must be 0 .off. or >= 2"),
        (
            lambda: PreprocessingOptions(baseline="asls", baseline_p=2),
            r"^preprocessing.baseline_p must be between 0 and 1 \(exclusive\), got 2",
        ),
        (
            lambda: PreprocessingOptions(baseline="asls", baseline_lam=0),
            r"^preprocessing.baseline_lam must be positive",
        ),
    ],
)
def test_a_group_refuses_settings_that_cannot_work(build, message: str) -> None:
    with pytest.raises(SpectraDataError, match=message):
        build()


def test_every_flat_option_of_the_previous_release_has_a_place_that_exists() -> None:
    groups = {"preprocessing": PreprocessingOptions, "augmentation": Augmentation, "split": SplitOptions}
    assert len(MOVED_OPTIONS) == 19
    for new in MOVED_OPTIONS.values():
        group, _, name = new.partition(".")
        assert hasattr(groups[group](), name), new
    assert MOVED_OPTIONS["split_seed"] == "split.seed" and MOVED_OPTIONS["augment_shift"] == "augmentation.shift"


def test_flat_settings_are_read_as_nested_and_nested_ones_as_they_are() -> None:
    flat = {"_class_path": "x", "train_path": "t.csv", "smoothing_window": 7, "augment_noise": 0.1, "split_seed": 3}
    nested = {
        "_class_path": "x",
        "train_path": "t.csv",
        "preprocessing": {"smoothing_window": 7},
        "augmentation": {"noise": 0.1},
        "split": {"seed": 3},
    }
    assert nested_settings(flat) == nested
    assert nested_settings(nested) == nested


def test_a_group_is_taken_as_a_mapping_and_saved_as_one() -> None:
    assert as_options(SplitOptions, {"seed": 4}) == SplitOptions(seed=4)
    given = SplitOptions(seed=5)
    assert as_options(SplitOptions, given) is given
    assert plain(given) == {"val_fraction": 0.2, "test_fraction": 0.2, "seed": 5, "folds": 0, "fold": 0}
    assert plain({"seed": 5}) == {"seed": 5}


@pytest.mark.parametrize("p", ["2", "0", "-0.1"])
def test_an_als_weight_outside_0_1_is_one_line_before_any_file_is_read(
    p: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """``baseline_p 2`` ended in pybaselines' ValueError traceback once the spectra were read (issue 35)."""
    train = write_table(tmp_path / "train.csv", *peak_spectra(30))
    args = tiny_args(
        "fit",
        tmp_path,
        "files_tiny.yaml",
        *("--data.init_args.train_path", str(train), "--data.init_args.preprocessing.baseline", "asls"),
        *("--data.init_args.preprocessing.baseline_p", p),
    )
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    err = capsys.readouterr().err
    assert "Traceback" not in err and exit_info.value.code == 2
    assert (
        err.strip()
        .splitlines()[-1]
        .startswith(f"error: preprocessing.baseline_p must be between 0 and 1 (exclusive), got {float(p)}")
    )
