# lightning-spectra on the official PyTorch CUDA runtime image: torch and CUDA come from the base image,
# pip adds only the pure-Python stack (no compilers are installed or left behind).
#   docker build -t lightning-spectra .
#   docker run --gpus all --rm -v "$PWD/logs:/app/logs" lightning-spectra                       # CNN on the GPU
#   docker run --gpus all --rm -v "$PWD/logs:/app/logs" lightning-spectra fit --config configs/lstm.yaml \
#       --trainer.accelerator gpu
ARG BASE=pytorch/pytorch:2.8.0-cuda12.9-cudnn9-runtime
FROM ${BASE}

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    LIGHTNING_SPECTRA_CACHE=/app/cache \
    CUBLAS_WORKSPACE_CONFIG=:4096:8
WORKDIR /app

# Dependencies first, so code edits do not reinstall them; the base image's torch satisfies `torch>=2.2`.
COPY pyproject.toml README.md ./
COPY lightning_spectra ./lightning_spectra
RUN pip install --no-cache-dir . && rm -rf /root/.cache

COPY train.py sweep.py report.py ./
COPY configs ./configs
COPY sweeps ./sweeps

ENTRYPOINT ["python", "train.py"]
CMD ["fit", "--config", "configs/cnn.yaml", "--trainer.accelerator", "gpu"]
