# lightning-spectra on the official PyTorch CUDA runtime image: torch and CUDA come from the base image and
# are pinned as a constraint, so no pip step can replace them; pip adds the locked pure-Python stack.
#   docker build -t lightning-spectra .
#   docker run --gpus all --rm -v "$PWD/logs:/app/logs" lightning-spectra                       # CNN on the GPU
#   docker run --gpus all --rm -v "$PWD/logs:/app/logs" lightning-spectra fit --config lstm \
#       --trainer.accelerator gpu
#   docker run --gpus all --rm --entrypoint lightning-spectra-sweep lightning-spectra --sweep cnn --devices 0
# The configs and sweep files ship inside the package (found by name: cnn, paper/cnn, examples/files_csv).
# The lock is resolved for CPython 3.11, the base image's Python.
ARG BASE=pytorch/pytorch:2.8.0-cuda12.9-cudnn9-runtime
FROM ${BASE}

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_CONSTRAINT=/etc/torch-constraint.txt \
    LIGHTNING_SPECTRA_CACHE=/app/cache \
    MPLCONFIGDIR=/tmp/matplotlib \
    CUBLAS_WORKSPACE_CONFIG=:4096:8
WORKDIR /app

# The base image's torch, exactly: every pip call below reads it through PIP_CONSTRAINT.
RUN python -c "import torch; print(f'torch=={torch.__version__}')" > /etc/torch-constraint.txt

# Dependencies in their own layer, before any code is copied: editing the package does not reinstall them.
COPY requirements.lock ./
RUN pip install --no-deps -r requirements.lock

# The package itself (its dependencies are all in place; `pip check` proves it, torch included).
COPY pyproject.toml README.md ./
COPY lightning_spectra ./lightning_spectra
RUN pip install --no-deps . && pip check

# Run as an unprivileged user who owns only the folders a run writes to.
RUN useradd --create-home --uid 1000 spectra && mkdir -p logs cache reports sweeps && chown spectra logs cache reports sweeps
USER spectra

ENTRYPOINT ["lightning-spectra"]
CMD ["fit", "--config", "cnn", "--trainer.accelerator", "gpu"]
