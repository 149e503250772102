# syntax=docker/dockerfile:1.7
# The GPU worker. Models are never baked in: they are mounted at NARCIS_MODELS_DIR (the instance's NVMe
# or EFS, filled by an S3 sync of the models folder; docs/operations.md).
# Build from the repository root: docker build -f deploy/docker/worker.Dockerfile -t narcis-worker .
# A plain Python base: torch's CUDA build from the package index brings its CUDA libraries as wheels
# (nvidia-*), so the worker runs the very torch version the tests run; the host gives only the driver.
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    NARCIS_MODELS_DIR=/models

RUN apt-get update \
    && apt-get install -y --no-install-recommends libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 narcis \
    && useradd --system --uid 10001 --gid narcis --home-dir /app --shell /usr/sbin/nologin narcis

WORKDIR /app

# Dependencies before the source: exactly the locked versions, hashes checked (requirements/compile),
# torch's CUDA build of the version the tests run, and the `gpu` extra (onnxruntime-gpu for insightface).
COPY requirements/worker-cuda.lock requirements/no-deps.lock ./requirements/
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install --require-hashes --no-deps -r requirements/worker-cuda.lock \
    && pip install --require-hashes --no-deps -r requirements/no-deps.lock

COPY . .
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install --no-deps --no-build-isolation . \
    && mkdir -p /app/var /models \
    && chown -R narcis:narcis /app/var

USER 10001:10001
VOLUME ["/models"]
# ECS sends SIGTERM on a spot notice: the worker finishes or hands back its batch, then exits.
STOPSIGNAL SIGTERM
CMD ["python", "manage.py", "run_worker"]
