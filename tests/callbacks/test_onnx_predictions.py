"""predict's network pass on ONNX Runtime: which engine is chosen, the check of the export, and that the model
is itself again after predict (predict's outputs on both engines: tests/runs/test_checkpoint.py, earlier release)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from lightning_spectra.callbacks.onnx_predictions import (
    OnnxLogits,
    OnnxPredictions,
    choose_engine,
    onnx_obstacle,
)
from lightning_spectra.errors import SpectraConfigError, SpectraRunError
from lightning_spectra.models import CNN, TransformerClassifier

CPU = torch.device("cpu")


def small_cnn() -> CNN:
    return CNN(spectrum_length=64).eval()


def test_auto_is_pytorch_the_faster_measured_end_to_end_and_the_others_are_what_they_say() -> None:
    assert choose_engine("auto", None) == "torch"
    assert choose_engine("auto", "the model runs on cuda") == "torch"
    assert choose_engine("onnx", None) == "onnx" and choose_engine("torch", None) == "torch"
    with pytest.raises(SpectraConfigError, match="must be one of auto, onnx, torch; got 'ort'"):
        choose_engine("ort", None)


def test_onnx_asked_for_where_it_cannot_run_is_one_line_saying_what_to_do() -> None:
    with pytest.raises(
        SpectraConfigError,
        match=r"^--predict_engine onnx: the model runs on cuda and ONNX Runtime here on the CPU; use --predict_engine "
        r"torch$",
    ):
        choose_engine("onnx", onnx_obstacle(small_cnn(), torch.device("cuda")))


def test_what_stands_in_the_way_of_onnx_runtime() -> None:
    assert onnx_obstacle(small_cnn(), CPU) is None
    assert onnx_obstacle(SimpleNamespace(eval_sequence="whole"), CPU) is None  # one graph reads one sequence
    assert "eval_sequence 'chunks'" in onnx_obstacle(SimpleNamespace(eval_sequence="chunks"), CPU)
    assert "runs on cuda" in onnx_obstacle(small_cnn(), torch.device("cuda"))


@pytest.mark.parametrize(("model_class", "exporter"), [(CNN, "traced_onnx"), (TransformerClassifier, "dynamo_onnx")])
def test_the_exported_network_gives_the_models_logits_at_any_batch_size(
    model_class: type, exporter: str, tmp_path
) -> None:
    """The transformer reading a batch as one sequence (its paper config) gets a traced file with the batch size
    frozen into its attention reshapes: the check finds it and the dynamo exporter's file is used."""
    sequence = {"eval_sequence": "whole"} if model_class is TransformerClassifier else {}
    model = model_class(spectrum_length=64, **sequence).eval()
    logits = OnnxLogits(model, tmp_path)
    assert logits.exporter == exporter
    x = torch.randn(7, 64)
    with torch.no_grad():
        np.testing.assert_allclose(logits(x).numpy(), model(x).numpy(), rtol=1e-4, atol=1e-5)


def test_an_export_that_differs_from_the_model_stops_the_run(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = OnnxLogits.__call__
    monkeypatch.setattr(OnnxLogits, "__call__", lambda self, x: run(self, x) + 1e-2)
    with pytest.raises(SpectraRunError, match=r"ONNX export of CNN gives other logits .*--predict_engine torch"):
        OnnxLogits(small_cnn(), tmp_path)


def test_predict_step_asks_the_session_while_predict_runs_and_the_model_after(monkeypatch) -> None:
    model = small_cnn()
    callback = OnnxPredictions()
    trainer = SimpleNamespace()  # the hooks read nothing of it
    x = torch.randn(4, 64)
    batch = (x, torch.zeros(4), torch.arange(4))
    with torch.no_grad():
        eager = model.predict_step(batch, 0)["probabilities"]
        callback.on_predict_start(trainer, model)
        assert isinstance(model.predict_logits, OnnxLogits)
        calls = []
        session_run = model.predict_logits.session.run
        model.predict_logits.session.run = lambda *a: calls.append(1) or session_run(*a)
        exported = model.predict_step(batch, 0)["probabilities"]
        callback.on_predict_end(trainer, model)
    assert calls == [1] and model.predict_logits is None
    torch.testing.assert_close(exported, eager, rtol=1e-4, atol=1e-5)
