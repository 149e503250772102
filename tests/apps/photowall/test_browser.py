"""The whole visitor experience in headless Chromium (Debian's, driven by Playwright), against the
product served as `make run` serves it: the wall moves, the astronaut is uploaded with two words, the
progress bar reaches 100% and the portrait appears. A screenshot is kept as a test artifact."""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path

import pytest
import skimage.data
from PIL import Image

from tests.apps.generation.processes import PROJECT, running_site
from tests.conftest import CHROMIUM

pytestmark = [pytest.mark.browser, pytest.mark.embedded_default]

ARTIFACTS = Path(os.environ.get("NARCIS_TEST_ARTIFACTS", PROJECT / "var" / "test-artifacts"))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with running_site(tmp_path_factory.mktemp("site"), seed_demo=True) as address:
        yield f"http://{address}"


def test_a_visitor_paints_a_portrait_in_the_browser(site, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    face = tmp_path / "astronaut.png"
    Image.fromarray(skimage.data.astronaut()).save(face)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        refused = csp_refusals(page)
        try:
            page.goto(site)
            track = page.locator(".wall-track").first
            expect(track).to_be_visible()
            assert page.locator(".wall-column:visible").count() == 5  # the widest layout
            before = track.evaluate("t => getComputedStyle(t).transform")
            page.wait_for_timeout(800)
            after = track.evaluate("t => getComputedStyle(t).transform")
            assert before != after, "the wall does not move"

            page.set_input_files("#face", str(face))
            expect(page.locator("#face-preview")).to_be_visible()
            page.fill("#idea", "corporate confidence")
            expect(page.locator("#concept-keywords li").first).to_be_visible(timeout=20_000)
            assert 8 <= page.locator("#concept-keywords li").count() <= 15  # fewer rather than filler
            expect(page.locator("#balance")).to_have_text("5")

            # Record what the progress view shows while it runs (the tiny preset is quick).
            page.evaluate(
                """() => {
                  const stage = document.getElementById('stage');
                  const preview = document.getElementById('live-preview');
                  window.seen = {stages: [], preview: false};
                  new MutationObserver(() => window.seen.stages.push(stage.textContent))
                    .observe(stage, {childList: true, characterData: true, subtree: true});
                  new MutationObserver(() => { window.seen.preview = true; })
                    .observe(preview, {attributes: true, attributeFilter: ['src']});
                }"""
            )
            page.click("#generate")
            expect(page.locator("#bar")).to_have_attribute("aria-valuenow", "100", timeout=60_000)
            seen = page.evaluate("() => window.seen")
            assert "Painting your portrait…" in seen["stages"] and seen["preview"], seen
            result = page.locator("#result-image")
            expect(result).to_be_visible()
            page.wait_for_function("() => document.getElementById('result-image').naturalWidth > 0")
            assert page.locator("#download").get_attribute("href").startswith("/media/productions/")
            expect(page.locator("#balance")).to_have_text("4")
            assert refused == []  # the whole flow runs under the Content-Security-Policy
        finally:
            page.screenshot(path=str(ARTIFACTS / "create-flow.png"), full_page=True)
            browser.close()


def csp_refusals(page) -> list[str]:
    """What the browser refused under the Content-Security-Policy, as it reports it on the console."""
    refused = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    return refused


def test_the_api_docs_work_under_the_content_security_policy(site):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        refused = csp_refusals(page)
        try:
            response = page.goto(f"{site}/api/docs")
            assert "script-src 'self'" in response.headers["content-security-policy"]
            expect(page.locator(".opblock-summary-path", has_text="/api/generations").first).to_be_visible(
                timeout=20_000
            )
            assert refused == []
        finally:
            browser.close()


def test_errors_appear_next_to_their_field(site):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        try:
            page.goto(site)
            page.click("#generate")
            expect(page.locator('[data-error-for="face"]')).to_have_text("Please add a selfie first.")
            not_a_photo = {"name": "me.jpg", "mimeType": "image/jpeg", "buffer": b"certainly not a jpeg"}
            page.set_input_files("#face", files=[not_a_photo])
            page.fill("#idea", "calm")
            page.click("#generate")
            expect(page.locator('[data-error-for="face"]')).to_contain_text("JPEG, PNG or WebP")
            page.fill("#idea", "one two three four five")
            expect(page.locator('[data-error-for="idea"]')).to_have_text("Please use at most 4 words.")

            # A photo dropped on the drop zone is taken like a chosen one, with its preview.
            buffer = io.BytesIO()
            Image.fromarray(skimage.data.astronaut()).save(buffer, format="PNG")
            page.evaluate(
                """async (b64) => {
                  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
                  const transfer = new DataTransfer();
                  transfer.items.add(new File([bytes], 'dropped.png', {type: 'image/png'}));
                  document.getElementById('dropzone').dispatchEvent(
                    new DragEvent('drop', {dataTransfer: transfer, bubbles: true, cancelable: true}));
                }""",
                base64.b64encode(buffer.getvalue()).decode(),
            )
            expect(page.locator("#face-preview")).to_be_visible()
            expect(page.locator('[data-error-for="face"]')).to_have_text("")
        finally:
            browser.close()


@pytest.fixture(scope="module")
def lean_site(tmp_path_factory):
    """No wall, and one free token: a new guest is already running low."""
    with running_site(tmp_path_factory.mktemp("lean"), TOKEN_COUNT_FOR_GUESTS="1") as address:
        yield f"http://{address}"


def one_line(page) -> bool:
    """The top bar's brand and links sit on one row (the bar does not wrap)."""
    tops = page.locator(".topbar > a, .topbar nav > :visible").evaluate_all(
        "items => items.map((i) => { const b = i.getBoundingClientRect(); return b.top + b.height / 2; })"
    )
    return max(tops) - min(tops) <= 4


def test_the_shared_page_shows_each_visitor_their_own_part_from_api_me(lean_site):
    """The page's HTML is the same for everyone; account.js shows this visitor's tokens, the sign-up
    nudge, and who is signed in, on a 390 px phone whose top bar stays on one line."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=3)
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        try:
            page.goto(lean_site)
            expect(page.locator("#cost")).to_have_text("· 1 of 1 token")
            expect(page.locator("#signup-nudge")).to_be_visible()
            expect(page.locator(".topbar").get_by_role("link", name="Sign up")).to_be_visible()
            assert one_line(page)
            assert page.context.cookies()[0]["name"] == "csrftoken"  # from /api/me, for the POSTs

            page.goto(f"{lean_site}/accounts/signup/")
            email = "a-rather-long-address-for-a-phone@example.com"
            page.fill("#id_email", email)
            page.fill("#id_password1", "a-long-pass-phrase-42")
            page.fill("#id_password2", "a-long-pass-phrase-42")
            page.click('button[type="submit"]')
            page.goto(lean_site)
            expect(page.locator("#account-email")).to_have_text(email)
            balance = page.request.get(f"{lean_site}/api/me").json()["balance"]
            expect(page.locator("#balance")).to_have_text(str(balance))
            expect(page.locator("#signup-nudge")).to_be_hidden()
            expect(page.locator(".topbar").get_by_role("link", name="Log in")).to_be_hidden()
            assert one_line(page)  # the address is cut short, not wrapped

            page.get_by_role("button", name="Log out").click()  # the form echoes the CSRF cookie
            page.wait_for_url(f"{lean_site}/")
            expect(page.locator(".topbar").get_by_role("link", name="Log in")).to_be_visible()
            assert page.request.get(f"{lean_site}/api/me").json()["authenticated"] is False
            assert errors == []  # no 404 (the favicon), no CSP refusal, no script error
        finally:
            page.screenshot(path=str(ARTIFACTS / "landing-390.png"), full_page=True)
            browser.close()
