"""Django's PostgreSQL backend with psycopg's pool, plus a guard that a thread cannot keep a slot.

ENGINE = "narcis_site.postgresql" (narcis_site/config.py sets it for postgres:// URLs).
"""
