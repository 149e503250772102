# syntax=docker/dockerfile:1.7
# The web image (narcis_site.serve: uvicorn, HTTP + websockets), also the operators' bot's
# (command: run_discord_bot).
# Build from the repository root: docker build -f deploy/docker/web.Dockerfile -t narcis-web .
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    NARCIS_STATIC_ROOT=/app/staticfiles

# OpenCV (the upload face check) needs glib; nothing else from the system.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 narcis \
    && useradd --system --uid 10001 --gid narcis --home-dir /app --shell /usr/sbin/nologin narcis

WORKDIR /app

# Dependencies before the source: a code change rebuilds only the layers below. Exactly the locked
# versions, hashes checked (requirements/compile): torch's CPU build of the version the tests run (the
# web process runs the offline mecene and the face check, never the diffusion models).
COPY requirements/web-cpu.lock requirements/no-deps.lock ./requirements/
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install --require-hashes --no-deps --extra-index-url https://download.pytorch.org/whl/cpu \
        -r requirements/web-cpu.lock \
    && pip install --require-hashes --no-deps -r requirements/no-deps.lock

COPY . .
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install --no-deps --no-build-isolation . \
    && DEBUG=true SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
    && mkdir -p /app/var \
    && chown -R narcis:narcis /app/var

USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)"]
CMD ["python", "-m", "narcis_site.serve", "--host", "0.0.0.0", "--port", "8000"]
