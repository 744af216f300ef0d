"""The profile page and the session in Chromium: display name and avatar, a refused avatar URL beside its
field, a password change that signs out every other token, and a token that expires or is revoked
sending the user to sign in and, once signed in, back to the same place."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest

from db_models.accounts import User
from tests.support.spa import check_page, expect, needs_chromium, no_page_errors, sign_in, stored_token
from tests.test_runs import make_model

pytestmark = [needs_chromium, pytest.mark.database_independent]

ME = "{ me { email displayName avatarUrl } }"
NEW_PASSWORD = "an even longer passphrase"
AVATAR = "https://images.example.com/me.png"


async def test_the_profile_is_updated_and_a_bad_avatar_url_is_refused_beside_its_field(server_url, api, browser, user):
    page = await browser.new_page()
    await page.route("https://images.example.com/**", lambda route: route.fulfill(status=404))  # no network
    await sign_in(page, server_url, user.email, user.password, path="/profile")
    await expect(page.get_by_role("region", name="Account")).to_contain_text(user.email)
    await check_page(page, "profile")
    await page.get_by_label("Display name").fill("Alice Trader")
    await page.get_by_label("Avatar URL").fill("javascript:alert(1)")
    await page.get_by_role("button", name="Save profile").click()
    error = page.locator('[data-field="avatarUrl"] .field-error')
    await expect(error).to_contain_text("avatarUrl must be an absolute http or https URL")
    await expect(page.get_by_label("Avatar URL")).to_be_focused()
    assert (await api.data(ME, token=user.token))["me"]["displayName"] is None  # nothing was saved

    await page.get_by_label("Avatar URL").fill(AVATAR)
    await page.get_by_role("button", name="Save profile").click()
    await expect(page.get_by_text("Profile saved.")).to_be_visible()
    await expect(error).to_be_empty()
    await expect(page.locator("#session-name")).to_have_text("Alice Trader")
    await expect(page.get_by_role("link", name="Profile of Alice Trader")).to_be_visible()
    await expect(page.get_by_role("img", name="Your avatar")).to_have_attribute("src", AVATAR)
    me = (await api.data(ME, token=user.token))["me"]
    assert me == {"email": user.email, "displayName": "Alice Trader", "avatarUrl": AVATAR}
    no_page_errors(browser)


async def test_changing_the_password_signs_out_the_other_sessions_and_keeps_this_one(server_url, api, browser, user):
    page = await browser.new_page()
    await sign_in(page, server_url, user.email, user.password, path="/profile")
    old_token = await stored_token(page)
    other_session = user.token  # the token signup gave: another session of the same account

    await page.get_by_label("Current password").fill("not my password")
    await page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    await page.get_by_label("Repeat the new password").fill(NEW_PASSWORD + "x")
    await page.get_by_role("button", name="Change password").click()
    await expect(page.locator('[data-field="repeatPassword"] .field-error')).to_have_text(
        "The two new passwords differ."
    )
    await page.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Change password").click()
    await expect(page.locator('[data-field="currentPassword"] .field-error')).to_contain_text("(BAD_USER_INPUT")
    await page.get_by_label("Current password").fill(user.password)
    await page.get_by_role("button", name="Change password").click()
    await expect(page.get_by_text("Password changed. Every other session has been signed out.")).to_be_visible()

    new_token = await stored_token(page)
    assert new_token not in (None, old_token)
    for token in (old_token, other_session):
        assert await api.error_code("{ models { totalCount } }", token=token) == "UNAUTHENTICATED"
    assert (await api.data(ME, token=new_token))["me"]["email"] == user.email
    await page.get_by_role("link", name="Models", exact=True).click()  # this session goes on
    await expect(page.get_by_role("heading", name="Models")).to_be_visible()
    await page.get_by_role("button", name="Sign out", exact=True).click()
    await sign_in(page, server_url, user.email, NEW_PASSWORD)
    no_page_errors(browser)


async def test_an_expired_token_returns_to_sign_in_and_then_to_the_same_place(server_url, api, browser, user, settings):
    model_id = await make_model(api, user, ai_model="local/momentum", tickers=("AAPL",))
    user_id = (await User.get(email=user.email)).id
    now = int(time.time())
    expired = jwt.encode(
        {"sub": str(user_id), "iat": now - 7200, "exp": now - 60, "jti": uuid.uuid4().hex, "iss": settings.jwt_issuer},
        settings.jwt_secret,
        algorithm="HS256",
    )
    page = await browser.new_page()
    await page.goto(f"{server_url}/app/signin")
    await page.evaluate("token => localStorage.setItem('aibt.token', token)", expired)
    place = f"/models/{model_id}?status=COMPLETED"
    await page.goto(f"{server_url}/app{place}")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await expect(page.get_by_role("status").filter(has_text="Signed out")).to_have_text(
        "Signed out: Your session has expired or was ended; please sign in again."
    )
    assert await stored_token(page) is None
    await page.get_by_label("Email").fill(user.email)
    await page.get_by_label("Password").fill(user.password)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page).to_have_url(f"{server_url}/app{place}")
    await expect(page.get_by_role("heading", name="local/momentum test", level=1)).to_be_visible()

    # A token revoked while the page is open: the next request sends the user to sign in, place kept.
    await api.data("mutation { logout }", token=await stored_token(page))
    await page.get_by_role("region", name="Runs").get_by_label("Status").select_option("FAILED")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await expect(page.get_by_text("Signed out: The token has been revoked; log in again.")).to_be_visible()
    await page.get_by_label("Email").fill(user.email)
    await page.get_by_label("Password").fill(user.password)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page).to_have_url(f"{server_url}/app/models/{model_id}?status=FAILED")
    no_page_errors(browser)
