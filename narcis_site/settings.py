"""Django settings. Every value comes from the environment; README documents each one."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from narcis_site import config

ENV = os.environ
BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

SECRET_KEY = config.secret_key(ENV, var_dir=VAR_DIR)
DEBUG = config.env_bool(ENV, "DEBUG", False)
ALLOWED_HOSTS = config.env_list(ENV, "ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = config.env_list(ENV, "CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "ninja",
    "axes",  # login throttling: apps/sessions_tokens/throttling.py
    "apps.sessions_tokens",
    "apps.generation",
    "apps.photowall",
    "apps.discord_ops",
]

MIDDLEWARE = [
    # First: the load balancer's probe must not depend on Host headers, redirects or sessions.
    "narcis_site.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "narcis_site.security_headers.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "narcis_site.access_log.AccessLogMiddleware",
    # Inside the access log (it logs the answer sent), outside everything that reads the database.
    "narcis_site.database_recovery.DatabaseRecoveryMiddleware",
    "narcis_site.malformed_bodies.MalformedBodyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "apps.sessions_tokens.middleware.ApiKeyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Turns a password check that axes refused into the lockout page (429, Retry-After).
    "axes.middleware.AxesMiddleware",
    # Last of the sync-only ones: under ASGI Django runs every middleware above it in one thread, and
    # switches to the event loop only below it (Django's own, placed inside, ran async and hopped threads
    # at each of their hooks, 3 switches per request).
    "apps.sessions_tokens.middleware.GuestSessionMiddleware",
]

ROOT_URLCONF = "narcis_site.urls"
ASGI_APPLICATION = "narcis_site.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "narcis_site" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": config.database_from_url(ENV.get("DATABASE_URL"), base_dir=BASE_DIR, env=ENV)}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = ENV.get("REDIS_URL", "").strip() or None
CHANNEL_LAYERS = config.channel_layers(REDIS_URL)
CACHES = config.caches(
    REDIS_URL, Path(ENV.get("NARCIS_CACHE_DIR", "").strip() or BASE_DIR / "var" / "cache") / "django"
)

AUTH_USER_MODEL = "sessions_tokens.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:profile"
LOGOUT_REDIRECT_URL = "home"
# Every password check goes through authenticate(request, ...): axes first (refuses a locked-out account
# or address before any password is hashed), then the ordinary check.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Login throttling (django-axes: the Django ecosystem's maintained lockout library, counting failures of
# every authenticate() call, site, admin and password re-checks alike). Failures are rows in the database,
# so every web process agrees. An account is locked after LOGIN_FAILURE_LIMIT wrong passwords from
# anywhere, and an address after as many on any accounts, for LOGIN_LOCKOUT_MINUTES after the last one.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = config.env_int(ENV, "LOGIN_FAILURE_LIMIT", 10, minimum=1)
AXES_COOLOFF_TIME = dt.timedelta(minutes=config.env_int(ENV, "LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_USERNAME_FORM_FIELD = "username"  # what our login forms and authenticate() call it
AXES_USERNAME_CALLABLE = "apps.sessions_tokens.throttling.client_username"  # emails are case-insensitive
AXES_CLIENT_IP_CALLABLE = "apps.sessions_tokens.allowances.client_address"  # TRUSTED_PROXIES' rule
AXES_LOCKOUT_CALLABLE = "apps.sessions_tokens.throttling.lockout_response"
# A try during the lockout, right password or not, neither counts nor extends it: Retry-After stays true.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = False  # else one good login of one's own would clear an address's count
AXES_DISABLE_ACCESS_LOG = True  # keep failures (what lockouts need), not a row for every login
# Never stored in the attempt rows' copy of the form (axes always hides "password").
AXES_SENSITIVE_PARAMETERS = [
    "username",
    "ip_address",
    "old_password",
    "new_password1",
    "new_password2",
    "password1",
    "password2",
    "csrfmiddlewaretoken",
]

# Email (password resets, address verification): the console by default (`make run` prints them); in
# production SMTP (Amazon SES's SMTP interface works with these), under `make stack` a local sink.
EMAIL_BACKEND = ENV.get("EMAIL_BACKEND", "").strip() or "django.core.mail.backends.console.EmailBackend"
EMAIL_HOST = ENV.get("EMAIL_HOST", "").strip() or "localhost"
EMAIL_PORT = config.env_int(ENV, "EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = ENV.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = ENV.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = config.env_bool(ENV, "EMAIL_USE_TLS", True)
EMAIL_USE_SSL = config.env_bool(ENV, "EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = config.env_int(ENV, "EMAIL_TIMEOUT", 10, minimum=1)
EMAIL_FILE_PATH = ENV.get("EMAIL_FILE_PATH", "").strip() or str(VAR_DIR / "mail")  # the file backend's folder
DEFAULT_FROM_EMAIL = ENV.get("DEFAULT_FROM_EMAIL", "").strip() or "Narcis <no-reply@localhost>"
# How long the links we email stay valid.
PASSWORD_RESET_TIMEOUT = 60 * config.env_int(ENV, "PASSWORD_RESET_MINUTES", 60, minimum=1)
EMAIL_VERIFICATION_DAYS = config.env_int(ENV, "EMAIL_VERIFICATION_DAYS", 7, minimum=1)

# Tokens
TOKEN_COUNT_FOR_GUESTS = config.env_int(ENV, "TOKEN_COUNT_FOR_GUESTS", 5)
GUEST_SESSION_DAYS = config.env_int(ENV, "GUEST_SESSION_DAYS", 7, minimum=1)
# New guest sessions per network address per day that come with free tokens (clearing cookies must not
# mint endless tokens); further sessions start at 0 and are asked to sign up.
GUEST_ALLOWANCES_PER_ADDRESS = config.env_int(ENV, "GUEST_ALLOWANCES_PER_ADDRESS", 10)
GUEST_COOKIE_NAME = "narcis_guest"
GENERATIONS_PER_MINUTE = config.env_int(ENV, "GENERATIONS_PER_MINUTE", 5, minimum=1)
GENERATIONS_MAX_QUEUED = config.env_int(ENV, "GENERATIONS_MAX_QUEUED", 2, minimum=1)
# Operators' jobs go first, but a waiting visitor's job is claimed once this many operators' jobs have
# started since it was queued (generation.services.jobs_claim): a 200-job sweep cannot starve visitors.
OPERATOR_JOBS_PER_VISITOR = config.env_int(ENV, "OPERATOR_JOBS_PER_VISITOR", 4, minimum=1)
# Submit attempts a minute, refused ones included, counted before any photo is read
# (apps.generation.submit_throttle): per account or guest session, and per client address (an office
# or a carrier NAT shares one, hence the larger figure).
SUBMITS_PER_MINUTE_PER_VISITOR = config.env_int(ENV, "SUBMITS_PER_MINUTE_PER_VISITOR", 10, minimum=1)
SUBMITS_PER_MINUTE_PER_ADDRESS = config.env_int(ENV, "SUBMITS_PER_MINUTE_PER_ADDRESS", 30, minimum=1)
# Requests one API key may make per minute, on every /api/ operation together (apps.sessions_tokens.api_keys).
API_KEY_REQUESTS_PER_MINUTE = config.env_int(ENV, "API_KEY_REQUESTS_PER_MINUTE", 120, minimum=1)
# A program's batch: jobs one API key may have waiting, and submit per minute (apps.generation.services),
# in place of the visitors' GENERATIONS_MAX_QUEUED / GENERATIONS_PER_MINUTE; tokens are still one a job.
API_KEY_MAX_QUEUED = config.env_int(ENV, "API_KEY_MAX_QUEUED", 50, minimum=1)
API_KEY_GENERATIONS_PER_MINUTE = config.env_int(ENV, "API_KEY_GENERATIONS_PER_MINUTE", 60, minimum=1)
# Webhooks (apps.generation.webhooks): https only, public addresses only, unless these allow local tests.
WEBHOOKS_ALLOW_HTTP = config.env_bool(ENV, "WEBHOOKS_ALLOW_HTTP", False)
WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = config.env_bool(ENV, "WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", False)
FACE_RETENTION_DAYS = config.env_int(ENV, "FACE_RETENTION_DAYS", 30, minimum=1)
# How long a photo sent with POST /api/uploads waits for its submission (apps.generation.photo_uploads).
UPLOAD_TTL_MINUTES = config.env_int(ENV, "UPLOAD_TTL_MINUTES", 60, minimum=1)
# Jobs per GPU batch; 0 (the default): what the device's memory holds (inference.models.devices).
NARCIS_WORKER_BATCH = config.env_int(ENV, "NARCIS_WORKER_BATCH", 0, minimum=0)
# The environment's name on its CloudWatch queue metrics (manage.py publish_queue_metrics).
NARCIS_ENVIRONMENT = ENV.get("NARCIS_ENVIRONMENT", "").strip() or "local"
# Seconds between SIGTERM and the kill (ECS stopTimeout 120 s, less a margin to hand the batch back).
NARCIS_WORKER_STOP_DEADLINE = config.env_int(ENV, "NARCIS_WORKER_STOP_DEADLINE", 110, minimum=1)
# The operators' Discord bot (manage.py run_discord_bot); the token is a secret: never logged.
DISCORD_BOT_TOKEN = ENV.get("DISCORD_BOT_TOKEN", "").strip()
DISCORD_GUILD_IDS = [int(g) for g in config.env_list(ENV, "DISCORD_GUILD_IDS", []) if g.strip().isdigit()]
# The mecene ideas an operators' face test runs when none are given (comma-separated).
OPS_IDEAS = config.env_list(
    ENV, "OPS_IDEAS", ["corporate confidence", "ethereal beauty", "cyberpunk rebel", "vintage glamour"]
)
# Sessions one operator may have painting at once (apps.discord_ops.services.sessions).
MAX_LIVE_SESSIONS = config.env_int(ENV, "MAX_LIVE_SESSIONS", 3, minimum=1)
# Refused by the server before it is read (narcis_site.request_limits): a body past MAX_REQUEST_BYTES
# (four 10 MB photos and the form around them), and a request too slow to arrive: headers past
# REQUEST_HEADER_TIMEOUT_S from its first byte; a body slower than that again plus a second per
# REQUEST_BODY_MIN_RATE bytes (16 KiB/s: any phone's uplink), or past REQUEST_BODY_MAX_S.
MAX_REQUEST_BYTES = config.env_int(ENV, "MAX_REQUEST_BYTES", 42 * 2**20, minimum=1)
REQUEST_HEADER_TIMEOUT_S = config.env_int(ENV, "REQUEST_HEADER_TIMEOUT_S", 20, minimum=1)
REQUEST_BODY_MIN_RATE = config.env_int(ENV, "REQUEST_BODY_MIN_RATE", 16 * 1024, minimum=1)
REQUEST_BODY_MAX_S = config.env_int(ENV, "REQUEST_BODY_MAX_S", 300, minimum=1)
# SIGTERM drains the web process (narcis_site.drain): /health says 503 at once, requests are served
# for WEB_DRAIN_S more (a balancer's checks notice), then websockets close and what is in flight gets up to
# WEB_DRAIN_MAX_S. Both together stay under the task's stopTimeout (30 s for web).
WEB_DRAIN_S = config.env_int(ENV, "WEB_DRAIN_S", 5, minimum=0)
WEB_DRAIN_MAX_S = config.env_int(ENV, "WEB_DRAIN_MAX_S", 20, minimum=0)
# An idle keep-alive connection is closed after this long. Longer than the ALB's idle timeout (3,600 s,
# deploy/terraform: quiet websockets stay open): the balancer must be the side that closes one, or it may
# send a request on a connection the server is closing, and its client gets a 502 (AWS's advice).
WEB_KEEP_ALIVE_S = config.env_int(ENV, "WEB_KEEP_ALIVE_S", 3605, minimum=1)
# A GET or HEAD that lost its database connection (a restart, a failover) waits up to this long for the
# database to answer again and is served once more (narcis_site.database_recovery), instead of a 500.
DATABASE_RECOVERY_WAIT_S = config.env_int(ENV, "DATABASE_RECOVERY_WAIT_S", 15, minimum=0)
# Uploads are read by the API with their own 10 MB bound; let Django spool them to disk, not memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024

# Proxies in front of daphne (1 behind the AWS load balancer): throttles then key anonymous callers on
# the X-Forwarded-For entry our proxy added, never on one the client wrote. 0: REMOTE_ADDR.
TRUSTED_PROXIES = config.env_int(ENV, "TRUSTED_PROXIES", 0)
NINJA_NUM_PROXIES = TRUSTED_PROXIES  # for any ninja throttle that still keys on ninja's own get_ident

# Cookies: Secure unless explicitly relaxed for plain-http local serving (DEBUG).
COOKIE_SECURE = config.env_bool(ENV, "COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_SECURE = COOKIE_SECURE
CSRF_COOKIE_SECURE = COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Behind the AWS load balancer TLS ends at the ALB, which says so in X-Forwarded-Proto. Without a
# proxy of ours in front (TRUSTED_PROXIES=0) the header is the client's own words: not trusted.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXIES else None
SECURE_CONTENT_TYPE_NOSNIFF = True
# HSTS behind the ALB (X-Forwarded-Proto: https) whenever cookies are Secure: a year, this host only.
SECURE_HSTS_SECONDS = config.env_int(ENV, "HSTS_SECONDS", 31_536_000 if COOKIE_SECURE else 0, minimum=0)
X_FRAME_OPTIONS = "DENY"

# Storage: local media/ by default, S3 when NARCIS_S3_BUCKET is set.
STORAGES = config.storages(ENV)
MEDIA_ROOT = Path(ENV.get("NARCIS_MEDIA_ROOT", "").strip() or BASE_DIR / "media")
MEDIA_URL = "/media/"
STATIC_ROOT = Path(ENV.get("NARCIS_STATIC_ROOT") or BASE_DIR / "staticfiles")
# Collected (an image build's `collectstatic`): whitenoise serves STATIC_ROOT, compressed. Not collected
# (`make run`, a laptop with DEBUG=false): it serves the apps' own files, so pages are never unstyled.
WHITENOISE_USE_FINDERS = DEBUG or not STATIC_ROOT.is_dir()
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "narcis_site" / "static"]

# Inference: a models folder (see DESIGN.md §4), or the offline tiny preset when unset.
NARCIS_MODELS_DIR = ENV.get("NARCIS_MODELS_DIR", "").strip() or None
# The workers' fast path (inference/models/fast.py): off, auto (compiled on a GPU, eager on a CPU), or
# a list such as "compile,channels-last,mode=reduce-overhead". Compiled code is cached on disk so a
# restarted worker on the same machine starts warm.
NARCIS_FAST_PATH = ENV.get("NARCIS_FAST_PATH", "auto").strip() or "auto"
# The workers' precision: unset, fp16 on a GPU and fp32 on a CPU; bf16 is the GPU's alternative (the
# same tensor-core speed with fp32's range). Checked when a worker starts (run_worker says what is wrong).
NARCIS_DTYPE = ENV.get("NARCIS_DTYPE", "").strip() or None
ENV.setdefault("TORCHINDUCTOR_CACHE_DIR", str(BASE_DIR / "var" / "cache" / "inductor"))
# `make run` sets this: a worker thread inside the web server, for the in-process channel layer.
EMBEDDED_WORKER = config.env_bool(ENV, "NARCIS_EMBEDDED_WORKER", False)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOG_LEVEL = ENV.get("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "narcis_site.jsonlog.JsonFormatter"}},
    "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        # narcis_site.serve says where it listens, the drain what it did, narcis_site.access_log each
        # request; uvicorn's own lines (plain text with colour codes as fields) only when they warn.
        "uvicorn": {"level": "WARNING"},
        # daphne: only the load campaign's server comparison still starts it.
        "daphne": {"level": "INFO"},
        "daphne.http_protocol": {"level": "WARNING"},
        "daphne.ws_protocol": {"level": "WARNING"},
        "django.db.backends": {"level": "WARNING"},
        # axes logs every login at INFO with the typed email; its lockouts (WARNING) are what operators need.
        "axes": {"level": "WARNING"},
        # nextcord logs request URLs at DEBUG, interaction tokens (webhooks/<app>/<token>) in them: never.
        "nextcord": {"level": "INFO"},
    },
}
