"""The web server keeps an idle connection open longer than the load balancer does: the balancer must be
the side that closes it, or it may send a request on a connection the server is closing (a 502)."""

import re
from pathlib import Path

from django.conf import settings

from narcis_site.serve import config

PROD = Path(__file__).resolve().parents[2] / "deploy" / "terraform" / "envs" / "prod" / "main.tf"


def test_the_server_outlasts_the_balancers_idle_timeout():
    balancer = int(re.search(r"^\s*idle_timeout\s*=\s*(\d+)", PROD.read_text(), re.M).group(1))
    server = config(lambda scope, receive, send: None, "127.0.0.1", 0)
    assert server.timeout_keep_alive == settings.WEB_KEEP_ALIVE_S > balancer
