"""The load campaign's own arithmetic and commands (no server started): the ratios it reports, the tables it
prints, the databases it derives and the command line of each server."""

from __future__ import annotations

import pytest

from tests.campaign_clients import PRODUCT_APP, server_command
from tests.load_checkouts import with_database, with_redis_db
from tests.load_report import markdown, ratios


def _target(version: str, server: str, processes: int, req_s: int) -> dict:
    figures = {"req_s": req_s, "p50_ms": 10.0, "p99_ms": 40.0, "non_2xx": 0}
    return {"version": version, "server": server, "processes": processes, "endpoints": {"health": figures}}


def test_ratios_pair_each_server_with_its_old_self_and_with_daphne():
    targets = {
        "old daphne x1": _target("old", "daphne", 1, 100),
        "new daphne x1": _target("new", "daphne", 1, 150),
        "old uvicorn x1": _target("old", "uvicorn", 1, 200),
        "new uvicorn x1": _target("new", "uvicorn", 1, 300),
    }
    found = ratios(targets)
    assert found["ratio"] == {"daphne x1": {"health": 1.5}, "uvicorn x1": {"health": 1.5}}
    assert found["vs_daphne"]["new uvicorn x1"] == {"health": 2.0}


def test_a_baseline_server_is_the_before_of_every_ratio():
    targets = {
        "old daphne x1": _target("old", "daphne", 1, 100),
        "new serve x1": _target("new", "serve", 1, 900),
    }
    assert ratios(targets, "daphne")["ratio"] == {"serve x1": {"health": 9.0}}


def test_a_ratio_over_nothing_measured_is_left_out():
    targets = {
        "old daphne x1": _target("old", "daphne", 1, 0),
        "new daphne x1": _target("new", "daphne", 1, 50),
    }
    assert ratios(targets)["ratio"] == {"daphne x1": {}}


def test_the_table_shows_new_rows_with_the_old_figures_beside_them():
    targets = {
        "old daphne x1": _target("old", "daphne", 1, 100),
        "new daphne x1": _target("new", "daphne", 1, 1500),
    }
    report = {"targets": targets, "baseline": "2fcb7b9", "revision": "working tree", "connections": 16}
    report.update(duration_s=10, ratios=ratios(targets))
    rows = [line for line in markdown(report).splitlines() if line.startswith("| `GET /health`")]
    assert rows == ["| `GET /health` | daphne x1 | 1,500 | 10 | 40 | 0 | – | 100 | 10 | 40 | 0 | **15** |"]


def test_each_version_gets_a_database_and_the_baseline_another_redis_number():
    url = "postgres://postgres@127.0.0.1:5432/narcis_load"
    assert with_database(url, "narcis_load_old") == "postgres://postgres@127.0.0.1:5432/narcis_load_old"
    assert with_redis_db("redis://127.0.0.1:6379/3", 1) == "redis://127.0.0.1:6379/4"
    assert with_redis_db("redis://127.0.0.1:6379/15", 1) == "redis://127.0.0.1:6379/0"


@pytest.mark.parametrize("server", ["daphne", "uvicorn", "granian"])
def test_every_server_binds_the_loopback_port_it_is_given(server):
    command = server_command(server, PRODUCT_APP, 8123, 1)
    assert "127.0.0.1" in command and "8123" in command and PRODUCT_APP in command


def test_workers_are_asked_of_uvicorn_only_past_one():
    assert "--workers" not in server_command("uvicorn", PRODUCT_APP, 8123, 1)
    command = server_command("uvicorn", PRODUCT_APP, 8123, 2)
    assert command[command.index("--workers") + 1] == "2"


def test_the_products_launcher_runs_one_process_of_the_product():
    with pytest.raises(ValueError):
        server_command("serve", PRODUCT_APP, 8123, 2)
    with pytest.raises(ValueError):
        server_command("serve", "tests.asgi_minimal:application", 8123, 1)
