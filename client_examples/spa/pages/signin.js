// Sign in, or create an account; then back to where the user was going (?next=).

import { api } from "../lib/api.js";
import { h } from "../lib/dom.js";
import { field, showFormError } from "../lib/forms.js";
import { navigate } from "../lib/navigation.js";
import { session, USER_FIELDS } from "../lib/session.js";
import { busy, errorBox, showError } from "../lib/ui.js";

const LOGIN = `mutation($email: String!, $password: String!) {
  login(email: $email, password: $password) { token user { ${USER_FIELDS} } } }`;
const SIGNUP = `mutation($email: String!, $password: String!, $displayName: String) {
  signup(email: $email, password: $password, displayName: $displayName) { token user { ${USER_FIELDS} } } }`;

/** Only a path inside the app: never another site. */
function safeNext(value) {
  return value && value.startsWith("/") && !value.startsWith("//") && !value.startsWith("/signin") ? value : "/models";
}

export async function render(view, { query }) {
  const next = safeNext(query.get("next"));
  if (session.signedIn) {
    navigate(next, { replace: true });
    return;
  }
  let signingUp = query.get("mode") === "signup";
  const title = h("h1", { tabindex: -1 });
  const notice = h("p", { class: "notice", role: "status" }, session.notice);
  notice.hidden = !session.notice;
  session.notice = "";
  const email = h("input", { name: "email", type: "email", autocomplete: "username", required: true });
  const password = h("input", { name: "password", type: "password", required: true, minlength: 8 });
  const displayName = h("input", { name: "displayName", autocomplete: "nickname", maxlength: 100 });
  const nameField = field("Display name (optional)", displayName);
  const general = errorBox();
  const submit = h("button", { type: "submit" });
  const toggle = h("button", { type: "button", class: "link" });
  const form = h("form", { novalidate: true },
    field("Email", email), field("Password", password), nameField, general, h("div", { class: "actions" }, submit, toggle));

  function setMode(up) {
    signingUp = up;
    title.textContent = up ? "Create an account" : "Sign in";
    submit.textContent = up ? "Create account" : "Sign in";
    toggle.textContent = up ? "Have an account? Sign in" : "New here? Create an account";
    nameField.hidden = !up;
    password.autocomplete = up ? "new-password" : "current-password";
    showError(general, null);
  }
  toggle.addEventListener("click", () => setMode(!signingUp));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!email.value.trim() || !password.value) {
      general.textContent = "Please enter your email and password.";
      return;
    }
    await busy(form, async () => {
      try {
        const variables = { email: email.value.trim(), password: password.value };
        const data = signingUp
          ? (await api(SIGNUP, { ...variables, displayName: displayName.value.trim() || null })).signup
          : (await api(LOGIN, variables)).login;
        session.begin(data.token, data.user);
        navigate(next, { replace: true });
      } catch (error) {
        showFormError(form, error, general);
      }
    });
  });
  setMode(signingUp);
  view.append(h("section", { class: "card narrow", "aria-labelledby": "signin-title" },
    Object.assign(title, { id: "signin-title" }), notice, form));
}
