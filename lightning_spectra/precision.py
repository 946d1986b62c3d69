"""Which numeric precision a run trains in when its config leaves ``trainer.precision`` unset.

On a CPU with native bfloat16 arithmetic (AVX512-BF16 or AMX, as oneDNN reports it), bf16 autocast roughly
halves the time of the convolutional models' epochs; on CPUs without it bf16 is emulated and slower, so those
keep float32. GPUs keep Lightning's default (float32) unless the config asks for more. An explicit
``--trainer.precision`` (``32-true``, ``bf16-mixed``, ...) always wins.
"""

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


def auto_precision(precision: str | int | None, accelerator: object = "auto") -> str | int | None:
    """``precision`` if given; otherwise bf16 autocast on a CPU that supports it natively, else float32."""
    if precision not in (None, "auto"):
        return precision
    if runs_on_cpu(accelerator):
        return CPU_BF16 if cpu_supports_bf16() else FULL
    return None  # Lightning's default for the accelerator
