// /profile: display name and avatar, password (changing it signs out every other session), sign out.

import { api } from "../lib/api.js";
import { facts, h, section } from "../lib/dom.js";
import { dateTime, label } from "../lib/format.js";
import { clearFieldErrors, field, showFieldMessage, showFormError } from "../lib/forms.js";
import { navigate } from "../lib/navigation.js";
import { session, USER_FIELDS } from "../lib/session.js";
import { busy, errorBox } from "../lib/ui.js";

const ME = "{ me { id email role displayName avatarUrl createdAt } }";
const UPDATE = `mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { ${USER_FIELDS} } }`;
const CHANGE = `mutation($current: String!, $next: String!) { changePassword(currentPassword: $current, newPassword: $next) {
  token user { ${USER_FIELDS} } } }`;

function avatarPreview(url) {
  const image = h("img", { class: "avatar-preview", alt: "Your avatar", width: 64, height: 64, referrerpolicy: "no-referrer" });
  image.hidden = !url;
  if (url) image.src = url;
  return image;
}

function profileForm(me) {
  const general = errorBox();
  const done = h("p", { class: "notice", role: "status" });
  const preview = avatarPreview(me.avatarUrl);
  const form = h("form", { novalidate: true },
    field("Display name", h("input", { name: "displayName", value: me.displayName || "", maxlength: 100, autocomplete: "nickname" }),
      { help: "Shown instead of your email. Empty: your email." }),
    field("Avatar URL", h("input", { name: "avatarUrl", type: "url", value: me.avatarUrl || "", maxlength: 500, placeholder: "https://…" }),
      { help: "An http or https address of an image." }),
    preview, general, done, h("div", { class: "actions" }, h("button", { type: "submit" }, "Save profile")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    done.textContent = "";
    busy(form, async () => {
      clearFieldErrors(form);
      try {
        const input = { displayName: form.elements.displayName.value, avatarUrl: form.elements.avatarUrl.value };
        const user = (await api(UPDATE, { input })).updateProfile;
        session.updateUser(user);
        preview.hidden = !user.avatarUrl;
        if (user.avatarUrl) preview.src = user.avatarUrl;
        done.textContent = "Profile saved.";
      } catch (error) {
        showFormError(form, error, general);
      }
    });
  });
  return form;
}

function passwordForm() {
  const general = errorBox();
  const done = h("p", { class: "notice", role: "status" });
  const form = h("form", { novalidate: true },
    field("Current password", h("input", { name: "currentPassword", type: "password", autocomplete: "current-password" })),
    field("New password", h("input", { name: "newPassword", type: "password", autocomplete: "new-password", minlength: 8 }),
      { help: "At least 8 characters." }),
    field("Repeat the new password", h("input", { name: "repeatPassword", type: "password", autocomplete: "new-password" })),
    general, done, h("div", { class: "actions" }, h("button", { type: "submit" }, "Change password")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    done.textContent = "";
    const { currentPassword, newPassword, repeatPassword } = form.elements;
    if (newPassword.value !== repeatPassword.value) {
      showFieldMessage(form, "repeatPassword", "The two new passwords differ.");
      return;
    }
    busy(form, async () => {
      clearFieldErrors(form);
      try {
        const { changePassword } = await api(CHANGE, { current: currentPassword.value, next: newPassword.value });
        session.replaceToken(changePassword.token);
        session.updateUser(changePassword.user);
        form.reset();
        done.textContent = "Password changed. Every other session has been signed out.";
      } catch (error) {
        showFormError(form, error, general);
      }
    });
  });
  return form;
}

export async function render(view) {
  const { me } = await api(ME);
  const signOut = h("button", { type: "button", class: "secondary" }, "Sign out of this browser");
  signOut.addEventListener("click", async () => {
    await session.signOut();
    navigate("/signin");
  });
  view.append(
    h("h1", { tabindex: -1 }, "Profile"),
    section("Account", facts([["Email", me.email], ["Role", label(me.role)], ["Member since", dateTime(me.createdAt)]]), signOut),
    section("Profile", profileForm(me)),
    section("Password", passwordForm()));
}
