"""A visitor's portraits in headless Chromium against the product served as `make run` serves it: two
selfies, consent off, My portraits with its download; staff cannot publish it until the visitor consents;
withdrawing takes it off the wall; deleting removes its files; a guest's two portraits follow them into
the account they sign up with, who then confirms their address, changes their password and resets it by
email (the emails read from the folder of Django's file backend the server writes to)."""

from __future__ import annotations

import re
import sqlite3
import subprocess
from pathlib import Path

import pytest
import skimage.data
from PIL import Image

from tests.apps.generation.processes import PROJECT, embedded_default, manage, running_site
from tests.apps.photowall.test_browser import ARTIFACTS, csp_refusals
from tests.conftest import CHROMIUM

pytestmark = [pytest.mark.browser, pytest.mark.embedded_default]
STAFF_EMAIL, STAFF_PASSWORD = "curator@example.com", "a-long-pass-phrase-42"
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("site")
    with running_site(folder, EMAIL_BACKEND=EMAIL_BACKEND, EMAIL_FILE_PATH=str(folder / "mail")) as address:
        env = {**embedded_default(folder), "DJANGO_SUPERUSER_PASSWORD": STAFF_PASSWORD}
        subprocess.run(
            manage("createsuperuser", "--noinput", "--email", STAFF_EMAIL),
            env=env,
            cwd=PROJECT,
            check=True,
            capture_output=True,
        )
        yield f"http://{address}", folder


@pytest.fixture
def photos(tmp_path):
    astronaut = skimage.data.astronaut()
    first, second = tmp_path / "me.png", tmp_path / "me-too.png"
    Image.fromarray(astronaut).save(first)
    Image.fromarray(astronaut[:, ::-1].copy()).save(second)
    return str(first), str(second)


def paint(page, site: str, photos, idea: str) -> None:
    """The create flow on the landing page, to the finished portrait."""
    from playwright.sync_api import expect

    page.goto(site)
    page.set_input_files("#face", photos[0])
    if len(photos) > 1:
        page.set_input_files("#extra-faces", list(photos[1:]))
    page.fill("#idea", idea)
    page.click("#generate")
    expect(page.locator("#bar")).to_have_attribute("aria-valuenow", "100", timeout=60_000)


def publish_as_staff(staff, site: str, job_id: str) -> str:
    """The admin's publish action on one generation; returns the messages it answers with."""
    staff.goto(f"{site}/admin/generation/generationjob/")
    staff.check(f'input[name="_selected_action"][value="{job_id}"]')
    staff.select_option('select[name="action"]', "publish_to_wall")
    staff.click('button[name="index"]')
    staff.fill("#id_new_celebrity", "Our guests")
    staff.click('input[name="apply"]')
    return staff.locator(".messagelist").inner_text()


def link_from_mail(folder: Path, subject: str) -> str:
    """The link in the newest email with this subject that the server wrote (one file per sending)."""
    [text] = [t for t in (f.read_text() for f in sorted(folder.glob("*.log"))) if subject in t][-1:]
    return re.search(r"http://\S+", text).group(0)


def wall_photos(folder) -> list[tuple[int, str]]:
    with sqlite3.connect(folder / "narcis.sqlite3") as db:
        return db.execute("select id, seo_name from photowall_photo").fetchall()


def test_a_visitor_owns_their_portraits_from_creation_to_deletion(site, photos):
    from playwright.sync_api import expect, sync_playwright

    url, folder = site
    media = folder / "media"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        visitor = browser.new_context().new_page()
        visitor.on("dialog", lambda dialog: dialog.accept())  # "Delete this portrait…?"
        refused = csp_refusals(visitor)
        staff = browser.new_context().new_page()
        try:
            visitor.goto(url)
            assert not visitor.is_checked("#wall-consent")  # consent is off unless the visitor ticks it
            paint(visitor, url, photos, "corporate confidence")
            visitor.click("text=All my portraits")
            card = visitor.locator(".portrait-card")
            expect(card).to_have_count(1)
            job_id = card.get_attribute("data-job-id")
            expect(card.locator(".portrait-meta")).to_contain_text("2 photos")
            expect(card.locator(".consent")).to_contain_text("Private")
            download = card.locator("a[download]")
            assert download.get_attribute("href") == f"/media/productions/{job_id}.png"
            visitor.wait_for_function("() => document.querySelector('.portrait-image img').naturalWidth > 0")
            files = [media / "faces" / f"{job_id}.png", media / "faces" / f"{job_id}-2.png"]
            files.append(media / "productions" / f"{job_id}.png")
            assert all(path.exists() for path in files)

            staff.goto(f"{url}/admin/login/")
            staff.fill("#id_username", STAFF_EMAIL)
            staff.fill("#id_password", STAFF_PASSWORD)
            staff.click('input[type="submit"]')
            said = publish_as_staff(staff, url, job_id)
            assert "did not agree to show it on the PhotoWall" in said and wall_photos(folder) == []

            visitor.click("text=Allow on the PhotoWall")
            expect(visitor.locator(".messages")).to_contain_text("our curators may now choose it")
            assert "1 portrait(s) published" in publish_as_staff(staff, url, job_id)
            [(photo_id, seo_name)] = wall_photos(folder)
            wall_image = f"{url}/wall/{photo_id}/{seo_name}.jpg"
            assert visitor.request.get(wall_image).status == 200

            visitor.click("text=Withdraw consent")
            expect(visitor.locator(".messages")).to_contain_text("has been taken down")
            assert visitor.request.get(wall_image).status == 404 and wall_photos(folder) == []

            visitor.click('.portrait-card button[data-action="delete"]')
            expect(visitor.locator(".messages")).to_contain_text("Deleted")
            expect(visitor.locator(".portrait-card")).to_have_count(0)
            assert not any(path.exists() for path in files)
            assert refused == []
        finally:
            visitor.screenshot(path=str(ARTIFACTS / "my-portraits.png"), full_page=True)
            browser.close()


def test_a_guests_two_portraits_follow_them_into_their_new_account_which_they_manage(site, photos):
    from playwright.sync_api import expect, sync_playwright

    url, folder = site
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        try:
            paint(page, url, photos[:1], "quiet scholar")
            page.goto(f"{url}/portraits/")
            page.click('button[data-action="again"]')  # the second: same photo and idea, a new seed
            expect(page.locator(".portrait-card")).to_have_count(2)
            expect(page.locator('.portrait-card[data-status="succeeded"]')).to_have_count(2, timeout=60_000)
            expect(page.locator(".lead")).to_contain_text("You are a guest")
            ids = set(page.locator(".portrait-card").evaluate_all("cards => cards.map(c => c.dataset.jobId)"))

            page.goto(f"{url}/accounts/signup/")
            page.fill("#id_email", "newcomer@example.com")
            page.fill("#id_password1", "a-long-pass-phrase-42")
            page.fill("#id_password2", "a-long-pass-phrase-42")
            page.click('button[type="submit"]')
            page.goto(f"{url}/portraits/")
            cards = page.locator(".portrait-card")
            expect(cards).to_have_count(2)
            assert set(cards.evaluate_all("cards => cards.map(c => c.dataset.jobId)")) == ids
            expect(page.locator(".topbar")).to_contain_text("newcomer@example.com")
            assert page.locator("text=You are a guest").count() == 0

            # The account works before its address is confirmed; the emailed link confirms it.
            page.goto(f"{url}/accounts/")
            expect(page.locator(".email-status")).to_contain_text("is not confirmed yet")
            page.goto(link_from_mail(folder / "mail", "Confirm your email address"))
            expect(page.locator(".messages")).to_contain_text("newcomer@example.com is confirmed")
            expect(page.locator(".email-status")).to_contain_text("is confirmed")

            page.click("text=Change your password")
            page.fill("#id_old_password", "a-long-pass-phrase-42")
            page.fill("#id_new_password1", "copper-meadow-signal-42")
            page.fill("#id_new_password2", "copper-meadow-signal-42")
            page.get_by_role("button", name="Change my password").click()
            expect(page.locator(".messages")).to_contain_text("Your password is changed")

            # Forgotten after all: reset by email, then log in with the new one.
            page.get_by_role("button", name="Log out").click()
            page.goto(f"{url}/accounts/login/")
            page.click("text=Forgot your password?")
            page.fill("#id_email", "newcomer@example.com")
            page.get_by_role("button", name="Email me a link").click()
            expect(page.locator("h1")).to_have_text("Check your email")
            page.goto(link_from_mail(folder / "mail", "Choose a new Narcis password"))
            page.fill("#id_new_password1", "velvet-orchard-beacon-8")
            page.fill("#id_new_password2", "velvet-orchard-beacon-8")
            page.get_by_role("button", name="Save my new password").click()
            expect(page.locator("h1")).to_have_text("Your new password is saved")
            page.locator("main").get_by_role("link", name="Log in").click()
            page.fill("#id_username", "newcomer@example.com")
            page.fill("#id_password", "velvet-orchard-beacon-8")
            page.get_by_role("button", name="Log in").click()
            expect(page.locator(".topbar")).to_contain_text("newcomer@example.com")
        finally:
            page.screenshot(path=str(ARTIFACTS / "my-portraits-account.png"), full_page=True)
            browser.close()
