"""Export a trained checkpoint as one ONNX or TorchScript file that takes raw spectra.

    lightning-spectra-export --ckpt_path logs/cnn/version_0/checkpoints/last.ckpt --format onnx
    python -m lightning_spectra.apps.export --ckpt_path ... --format torchscript --output model.pt

The file takes raw spectra (the checkpoint's preprocessing is inside the graph) and returns what the model's task
exports (class or label probabilities, values in the targets' units); what it holds and what stays outside it (ALS
baseline removal: ``--baseline_outside``) is described in :mod:`lightning_spectra.export.model_files`.

This module is the command; the library it runs is :mod:`lightning_spectra.export.model_files`, whose names it
re-exports (``from lightning_spectra.apps.export import export_checkpoint, run_onnx, prestep`` keeps working).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from lightning_spectra.errors import one_line_failures
from lightning_spectra.export.model_files import (
    EXPORTABLE_SEQUENCES,
    FORMATS,
    INPUT_NAME,
    PRESTEP,
    SUFFIXES,
    WRITERS,
    RawSpectraModel,
    check_exportable,
    check_output,
    check_written,
    example_spectra,
    export_checkpoint,
    metadata,
    prestep,
    prestep_call,
    read_checkpoint,
    read_metadata,
    run_onnx,
    run_torchscript,
    trapezoid_weights,
    write_onnx,
    write_torchscript,
)

__all__ = [
    "EXPORTABLE_SEQUENCES",
    "FORMATS",
    "INPUT_NAME",
    "PRESTEP",
    "RawSpectraModel",
    "SUFFIXES",
    "WRITERS",
    "check_exportable",
    "check_output",
    "check_written",
    "example_spectra",
    "export_checkpoint",
    "main",
    "metadata",
    "prestep",
    "prestep_call",
    "read_checkpoint",
    "read_metadata",
    "run_onnx",
    "run_torchscript",
    "trapezoid_weights",
    "write_onnx",
    "write_torchscript",
]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="lightning-spectra-export", description=__doc__.split("\n")[0])
    parser.add_argument("--ckpt_path", required=True, help="checkpoint written by fit")
    parser.add_argument("--format", choices=FORMATS, default="onnx", help="onnx (default) or torchscript")
    parser.add_argument("--output", default=None, help="file to write (default: the checkpoint's name, .onnx/.pt)")
    parser.add_argument(
        "--baseline_outside",
        action="store_true",
        help=f"export a model trained with baseline removal without it; apply {PRESTEP} before the model",
    )
    args = parser.parse_args(argv)
    with one_line_failures():  # bad input: one line, exit 2; a failed run (a full disk) exit 1
        out = export_checkpoint(args.ckpt_path, args.output, args.format, args.baseline_outside)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
