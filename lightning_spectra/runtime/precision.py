"""Which numeric precision a run trains in when its config leaves ``trainer.precision`` unset.

On a CPU with native bfloat16 arithmetic (AVX512-BF16 or AMX, as oneDNN reports it) bf16 autocast can shorten an
epoch; elsewhere bf16 is emulated and slower. Whether it helps is a fact of each model, measured on such a CPU
(BENCHMARKS.md, "Precision per model"): a model class says so with ``cpu_bf16 = True`` where bf16 was faster with
the same result on every such CPU measured (an Intel Xeon with AMX and an AMD EPYC without; FCNN1D, faster only
on the EPYC, stays out), and only those classifiers train in ``bf16-mixed`` automatically (``fit`` only:
``validate``, ``test`` and ``predict`` run in float32, so a prediction does not depend on the CPU). Regressors
always keep float32: bf16 keeps 8 bits of mantissa, and a calibration's error is measured in the third
significant digit (the Beer-Lambert check of the regression recipe reaches R^2 0.979 in bf16 and 0.994 in
float32). GPUs keep Lightning's default (float32). An explicit ``--trainer.precision`` (``32-true``,
``bf16-mixed``, ...) always wins."""

from __future__ import annotations

import torch

CPU_BF16 = "bf16-mixed"
FULL = "32-true"


def cpu_supports_bf16() -> bool:
    """True if oneDNN runs bfloat16 natively on this CPU (AVX512-BF16, AVX512 core or AMX)."""
    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a build without oneDNN or without the query
        return False


def runs_on_cpu(accelerator: object) -> bool:
    """Whether a Trainer ``accelerator`` setting ends up on the CPU."""
    if isinstance(accelerator, str):
        name = accelerator
    else:  # an Accelerator instance
        name = type(accelerator).__name__.lower().removesuffix("accelerator")
    if name == "cpu":
        return True
    mps = getattr(torch.backends, "mps", None)
    return name == "auto" and not torch.cuda.is_available() and not (mps and mps.is_available())


def auto_precision(
    precision: str | int | None, accelerator: object = "auto", model: type | None = None, task: str | None = None
) -> str | int | None:
    """``precision`` if given; otherwise bf16 autocast on a CPU that runs it natively for training a classifier
    whose class was measured faster in bf16 with the same result (``cpu_bf16``) for a task that allows it
    (:attr:`Task.trains_in_bf16 <lightning_spectra.tasks.base.Task.trains_in_bf16>`), else float32. ``task`` is
    the datamodule's ``task`` option (``None``: its default), or ``inference`` (validate, test, predict: float32,
    so that predictions equal an exported float32 model's and do not move with the CPU)."""
    if precision not in (None, "auto"):
        return precision
    if runs_on_cpu(accelerator):
        from lightning_spectra.tasks import DEFAULT_TASK, TASKS

        allowed = getattr(TASKS.get(task or DEFAULT_TASK), "trains_in_bf16", False)  # "inference" is no task
        measured = bool(getattr(model, "cpu_bf16", False)) and allowed
        return CPU_BF16 if measured and cpu_supports_bf16() else FULL
    return None  # Lightning's default for the accelerator


def configured_model_class(class_path: str | None) -> type | None:
    """The package model a config's ``model.class_path`` names (``None`` for another or no class: float32)."""
    from lightning_spectra import models

    name = str(class_path or "").rpartition(".")[2]
    found = getattr(models, name, None)
    return found if isinstance(found, type) and issubclass(found, models.SpectraModel) else None
