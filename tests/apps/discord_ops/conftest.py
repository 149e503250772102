import importlib.util
from pathlib import Path

import pytest
import skimage.data
from PIL import Image

from apps.discord_ops.models import Operator
from inference.models import presets
from tests.apps.generation.conftest import SMALL


@pytest.fixture(autouse=True)
def small_and_local(monkeypatch, settings, tmp_path):
    """Jobs paint at the generation tests' small size; storage in a temporary folder."""
    monkeypatch.setattr(presets, "TINY_DEFAULTS", SMALL)
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def operator(make_user):
    user = make_user(staff=True, email="op@example.com")
    Operator.objects.create(account=user, discord_user_id="1001")
    return user


@pytest.fixture
def faces_dir(tmp_path):
    """Two faces from installed packages: scikit-image's astronaut and an insightface sample."""
    folder = tmp_path / "team"
    folder.mkdir()
    Image.fromarray(skimage.data.astronaut()).save(folder / "astronaut.png")
    images = (
        Path(next(iter(importlib.util.find_spec("insightface").submodule_search_locations)))
        / "data"
        / "images"
    )
    Image.open(images / "Tom_Hanks_54745.png").convert("RGB").save(folder / "hanks.png")
    return folder


@pytest.fixture
def discord_server(monkeypatch):
    """The local Discord REST API, nextcord pointed at it."""
    from tests.apps.discord_ops.discord_server import DiscordServer
    from tests.apps.discord_ops.harness import point_nextcord_at

    server = DiscordServer()
    server.start()
    point_nextcord_at(server, monkeypatch)
    yield server
    server.stop()


@pytest.fixture
async def start_bot(discord_server):
    """start_bot(): a fresh bot (build_bot, as run_discord_bot makes it) logged in to the local server;
    call it again for a restart. Its follow loop is stopped unless follow=True: the test runs the passes.
    Every bot is closed at the end."""
    from apps.discord_ops.bot.client import build_bot
    from tests.apps.discord_ops.discord_server import GUILD_ID
    from tests.apps.discord_ops.harness import BotUnderTest

    started = []

    async def start(*, follow: bool = False):
        for running in started:
            await running.close()
        harness = BotUnderTest(discord_server, build_bot([GUILD_ID]), follow=follow)
        await harness.start()
        started.append(harness)
        return harness

    yield start
    for running in started:
        await running.close()
    # The test's own sync_to_async thread keeps a connection: closed, so PostgreSQL can drop the test DB.
    from asgiref.sync import sync_to_async
    from django.db import connections

    await sync_to_async(connections.close_all)()
