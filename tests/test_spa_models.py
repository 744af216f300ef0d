"""The app's account and model pages in Chromium: sign up, sign out, a refused sign-in, sign in; a model
created with every field (costs and caps, external tools) after refused ones (each error beside its field),
edited, and deleted with confirmation; deep links, back and forward, reload; and a keyboard-only pass."""

from __future__ import annotations

import re
import uuid

import pytest

from db_models.trading import TradingModel
from graphql_api.ids import to_global_id
from tests.support import price_fixtures as px
from tests.support.spa import check_page, expect, needs_chromium, no_page_errors, sign_in

pytestmark = [needs_chromium, pytest.mark.database_independent]

PASSWORD = "a long enough password"
ERROR_WITH_REQUEST_ID = re.compile(r"\(BAD_USER_INPUT · request [0-9a-f]{8,}\)")
MODEL = """query($id: ID!) { model(id: $id) { name description isActive allowedTickers initialCash aiModel
  customRules customInstructions parameters { temperature topP topK frequencyPenalty presencePenalty maxTokens }
  extraTools costs { commissionFixed commissionBps commissionMinimum slippageBps maxPositionWeight } } }"""
COSTS = [
    ("Commission per order", "1.5"), ("Commission (bp)", "5"), ("Minimum commission", "2"), ("Slippage (bp)", "10"),
]  # fmt: skip
LOGIN = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }"


async def test_a_new_user_signs_up_signs_out_and_signs_in_again(server_url, browser):
    email = f"spa-{uuid.uuid4().hex[:8]}@example.com"
    page = await browser.new_page()
    await page.goto(f"{server_url}/app")
    await expect(page).to_have_url(f"{server_url}/app/signin?next=%2Fmodels")
    await check_page(page, "signin")
    await page.get_by_role("button", name="New here? Create an account").click()
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_label("Display name (optional)").fill("Spa Tester")
    await page.get_by_role("button", name="Create account").click()
    await expect(page).to_have_url(f"{server_url}/app/models")
    await expect(page.locator("#session-name")).to_have_text("Spa Tester")
    await expect(page.get_by_text("No models yet.")).to_be_visible()

    await page.get_by_role("button", name="Sign out", exact=True).click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert await page.evaluate("localStorage.getItem('aibt.token')") is None
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill("not the password")
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page.get_by_role("alert")).to_contain_text("(UNAUTHENTICATED · request ")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page).to_have_url(f"{server_url}/app/models")
    no_page_errors(browser)


async def test_a_model_is_created_with_every_field_edited_and_deleted(server_url, api, market, browser, user):
    page = await browser.new_page()
    await sign_in(page, server_url, user.email, user.password)
    await check_page(page, "models-empty")
    await page.get_by_role("link", name="Create your first model").click()
    await expect(page).to_have_url(f"{server_url}/app/models/new")
    await page.get_by_label("Name", exact=True).fill("Every field")
    await page.get_by_label("Description (optional)").fill("A model with everything set.")
    await page.get_by_label("Tickers").fill("lkah, NOPRICES")
    await page.get_by_label("Initial cash").fill("25000.5")
    await page.get_by_label("AI model", exact=True).select_option("local/momentum")
    for label, value in [("Temperature", "0.4"), ("Top P", "0.9"), ("Top K", "40"), ("Frequency penalty", "0.1"),
                         ("Presence penalty", "-0.2"), ("Max tokens", "900")]:  # fmt: skip
        await page.get_by_label(label, exact=True).fill(value)
    await page.get_by_label("Custom rules (optional)").fill("Never hold more than 60 % in one stock.")
    await page.get_by_label("Custom instructions (optional)").fill("Prefer calm markets.")
    for label, value in COSTS:
        await page.get_by_label(label, exact=True).fill(value)
    await page.get_by_label("Max position (%)").fill("25")

    # Refused: the message, its code and request id beside the field, which gets focus.
    await page.get_by_role("button", name="Create model").click()
    tickers_error = page.locator('[data-field="allowedTickers"] .field-error')
    await expect(tickers_error).to_contain_text("no price data for NOPRICES")
    await expect(tickers_error).to_have_text(ERROR_WITH_REQUEST_ID)
    await expect(page.get_by_label("Tickers")).to_be_focused()
    await expect(page.get_by_label("Tickers")).to_have_attribute("aria-invalid", "true")
    await page.get_by_label("Tickers").fill(f"lkah, {px.OTHER}")
    await page.get_by_label("Temperature", exact=True).fill("5")
    await page.get_by_role("button", name="Create model").click()
    await expect(page.locator('[data-field="parameters.temperature"] .field-error')).to_contain_text(
        "between 0.0 and 2.0"
    )
    await expect(tickers_error).to_be_empty()
    await page.get_by_label("Temperature", exact=True).fill("0.4")

    # Costs and caps: a share of the portfolio the app itself refuses, then a slippage the server refuses.
    cap = page.get_by_label("Max position (%)")
    await cap.fill("150")
    await page.get_by_role("button", name="Create model").click()
    await expect(page.locator('[data-field="costs.maxPositionWeight"] .field-error')).to_have_text(
        "Give a share above 0 % and at most 100 %, or leave it empty for no cap."
    )
    await expect(cap).to_be_focused()
    await cap.fill("25")
    await page.get_by_label("Slippage (bp)", exact=True).fill("2000")
    await page.get_by_role("button", name="Create model").click()
    await expect(page.locator('[data-field="costs.slippageBps"] .field-error')).to_contain_text(
        "must be between 0 and 1,000; got 2000"
    )
    await expect(page.locator('[data-field="costs.maxPositionWeight"] .field-error')).to_be_empty()
    await page.get_by_label("Slippage (bp)", exact=True).fill("10")

    # External tools: only servers this deployment configured.
    await page.get_by_label("External tool servers (optional)").fill("research-desk")
    await page.get_by_role("button", name="Create model").click()
    await expect(page.locator('[data-field="extraTools"] .field-error')).to_contain_text("research-desk")
    await expect(page.get_by_label("External tool servers (optional)")).to_be_focused()
    await page.get_by_label("External tool servers (optional)").fill("")
    await check_page(page, "model-new")
    await page.get_by_role("button", name="Create model").click()
    await expect(page.get_by_role("heading", name="Every field", level=1)).to_be_visible()
    model_id = page.url.rsplit("/", 1)[1]
    stored = (await api.data(MODEL, {"id": model_id}, token=user.token))["model"]
    assert stored == {
        "name": "Every field", "description": "A model with everything set.", "isActive": True,
        "allowedTickers": [px.SYMBOL, px.OTHER], "initialCash": 25000.5, "aiModel": "local/momentum",
        "customRules": "Never hold more than 60 % in one stock.", "customInstructions": "Prefer calm markets.",
        "parameters": {"temperature": 0.4, "topP": 0.9, "topK": 40, "frequencyPenalty": 0.1,
                       "presencePenalty": -0.2, "maxTokens": 900},
        "extraTools": [],
        "costs": {"commissionFixed": 1.5, "commissionBps": 5.0, "commissionMinimum": 2.0, "slippageBps": 10.0,
                  "maxPositionWeight": 0.25},
    }  # fmt: skip
    await expect(page.get_by_role("region", name="About this model")).to_contain_text(
        "Costs and capscommission 1.50 per order + 5 bp, at least 2.00 · slippage 10 bp · at most 25 % in one symbol"
    )
    await check_page(page, "model")

    # Edit: a new name, inactive, one parameter cleared; the form opens with the stored values.
    await page.get_by_role("link", name="Edit", exact=True).click()
    await expect(page.get_by_label("Custom rules (optional)")).to_have_value("Never hold more than 60 % in one stock.")
    await expect(page.get_by_label("Top K", exact=True)).to_have_value("40")
    await expect(page.get_by_label("Max position (%)")).to_have_value("25")
    await expect(page.get_by_label("Commission per order", exact=True)).to_have_value("1.5")
    await page.get_by_label("Max position (%)").fill("")
    await page.get_by_label("Name", exact=True).fill("Every field, calmer")
    await page.get_by_label("Active (only active models can start runs)").uncheck()
    await page.get_by_label("Top K", exact=True).fill("")
    await check_page(page, "model-edit")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.get_by_role("heading", name="Every field, calmer", level=1)).to_contain_text("Inactive")
    stored = (await api.data(MODEL, {"id": model_id}, token=user.token))["model"]
    assert stored["name"] == "Every field, calmer" and stored["isActive"] is False
    assert stored["parameters"]["topK"] is None and stored["parameters"]["temperature"] == 0.4
    assert stored["costs"] == {"commissionFixed": 1.5, "commissionBps": 5.0, "commissionMinimum": 2.0,
                               "slippageBps": 10.0, "maxPositionWeight": None}  # fmt: skip
    await expect(page.get_by_text("This model is inactive")).to_be_visible()

    # The list, then back and forward through the history, and a reload that keeps the place.
    await page.get_by_role("link", name="Models", exact=True).first.click()
    row = page.get_by_role("row", name=re.compile("Every field, calmer"))
    await expect(row).to_contain_text("Inactive")
    await expect(row).to_contain_text("LKAH, LKBH")
    await check_page(page, "models")
    await page.go_back()
    await expect(page).to_have_url(f"{server_url}/app/models/{model_id}")
    await expect(page.get_by_role("heading", name="Every field, calmer", level=1)).to_be_visible()
    await page.go_forward()
    await expect(page).to_have_url(f"{server_url}/app/models")
    await page.goto(f"{server_url}/app/models/{model_id}/edit")
    await expect(page.get_by_label("Name", exact=True)).to_have_value("Every field, calmer")

    # Delete asks first: Cancel keeps the model, confirming deletes it.
    await page.goto(f"{server_url}/app/models/{model_id}")
    await page.get_by_role("button", name="Delete model").click()
    dialog = page.get_by_role("dialog", name="Delete Every field, calmer?")
    await expect(dialog).to_be_visible()
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_have_count(0)
    assert await TradingModel.filter(name="Every field, calmer").exists()
    await page.get_by_role("button", name="Delete model").click()
    await page.get_by_role("dialog").get_by_role("button", name="Delete model").click()
    await expect(page).to_have_url(f"{server_url}/app/models")
    await expect(page.get_by_text("No models yet.")).to_be_visible()
    assert not await TradingModel.filter(name="Every field, calmer").exists()
    no_page_errors(browser)


async def test_an_unknown_or_foreign_model_link_says_so(server_url, browser, user, other_user, api):
    theirs = (
        await api.data(
            'mutation { createModel(input: {name: "Theirs", allowedTickers: ["LKAH"], aiModel: "local/momentum"}) '
            "{ id } }",
            token=other_user.token,
        )
    )["createModel"]["id"]
    page = await browser.new_page()
    await sign_in(page, server_url, user.email, user.password, path=f"/models/{theirs}")
    await expect(page.get_by_role("heading", name="No such model")).to_be_visible()
    await page.goto(f"{server_url}/app/models/{to_global_id('TradingModel', 10**9)}/edit")
    await expect(page.get_by_role("heading", name="No such model")).to_be_visible()
    await page.goto(f"{server_url}/app/no/such/page")
    await expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    no_page_errors(browser)


async def test_signing_in_and_creating_a_model_work_with_the_keyboard_alone(server_url, browser, user, market):
    page = await browser.new_page()
    await page.goto(f"{server_url}/app/models/new")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

    async def tab_to(name: str, limit: int = 40) -> None:
        for _ in range(limit):
            await page.keyboard.press("Tab")
            focused = await page.evaluate(
                "(() => { const el = document.activeElement; return el.labels && el.labels.length"
                " ? el.labels[0].textContent.trim() : (el.getAttribute('aria-label') || el.textContent.trim()); })()"
            )
            if focused == name:
                return
        raise AssertionError(f"Tab never reached {name!r}")

    await tab_to("Email")
    await page.keyboard.type(user.email)
    await tab_to("Password")
    await page.keyboard.type(user.password)
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(f"{server_url}/app/models/new")
    await expect(page.get_by_role("heading", name="New model")).to_be_visible()
    await tab_to("Name")
    await page.keyboard.type("Typed in")
    await tab_to("Tickers")
    await page.keyboard.type(px.SYMBOL)
    await page.keyboard.press("Enter")  # submits the form
    await expect(page.get_by_role("heading", name="Typed in", level=1)).to_be_visible()
    await tab_to("Start date")
    await expect(page.get_by_label("Start date")).to_be_focused()
    no_page_errors(browser)


async def test_the_api_keeps_a_token_the_app_stored(server_url, api, browser, user):
    """The app signs in with the API's login: the token it keeps works for any client."""
    page = await browser.new_page()
    await sign_in(page, server_url, user.email, user.password)
    token = await page.evaluate("localStorage.getItem('aibt.token')")
    assert (await api.data("{ me { email } }", token=token))["me"]["email"] == user.email
    assert (await api.data(LOGIN, {"e": user.email, "p": user.password}))["login"]["token"] != token
