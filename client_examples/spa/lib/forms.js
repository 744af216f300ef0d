// Form fields with their own error line: a server error naming a field (extensions.field) is shown
// beside that field, announced, and the field gets focus.

import { h, uniqueId } from "./dom.js";
import { describeError } from "./graphql.js";
import { showError } from "./ui.js";

/** A labelled control: field("Initial cash", h("input", {name: "initialCash"}), {help: "..."}). */
export function field(labelText, control, { help = null, name = null, className = "" } = {}) {
  control.id ||= uniqueId("field");
  const errorLine = h("p", { class: "field-error", id: `${control.id}-error`, "aria-live": "polite" });
  const helpLine = help ? h("small", { class: "muted", id: `${control.id}-help` }, help) : null;
  control.setAttribute("aria-describedby", [errorLine.id, helpLine && helpLine.id].filter(Boolean).join(" "));
  return h("div", { class: `field ${className}`.trim(), dataset: { field: name || control.name } },
    h("label", { for: control.id }, labelText), control, helpLine, errorLine);
}

/** A checkbox with its label after it (and an error line, like any field). */
export function checkbox(labelText, props) {
  const input = h("input", { type: "checkbox", ...props });
  input.id ||= uniqueId("field");
  const errorLine = h("p", { class: "field-error", id: `${input.id}-error`, "aria-live": "polite" });
  input.setAttribute("aria-describedby", errorLine.id);
  return h("div", { class: "field check", dataset: { field: props.name } }, h("label", {}, input, ` ${labelText}`), errorLine);
}

/** A <select> of [value, text] pairs with one chosen. */
export function select(props, options, chosen = null) {
  return h("select", props, options.map(([value, text]) => h("option", { value, selected: value === chosen }, text)));
}

export function clearFieldErrors(form) {
  form.querySelectorAll(".field-error").forEach((line) => { line.textContent = ""; });
  form.querySelectorAll("[aria-invalid]").forEach((control) => control.removeAttribute("aria-invalid"));
}

/**
 * Shows an error: beside the field it names when the form has that field, else in `generalBox`.
 * Returns true when it went beside a field.
 */
export function showFormError(form, error, generalBox) {
  clearFieldErrors(form);
  const name = error && error.extensions ? error.extensions.field : null;
  const wrapper = name ? form.querySelector(`[data-field="${CSS.escape(name)}"]`) : null;
  if (!wrapper) {
    showError(generalBox, error);
    return false;
  }
  showError(generalBox, null);
  wrapper.querySelector(".field-error").textContent = describeError(error);
  const control = wrapper.querySelector("input, select, textarea");
  if (control) {
    control.setAttribute("aria-invalid", "true");
    control.focus();
  }
  return true;
}

/** Shows a message the app itself found beside a field, e.g. a required date left empty. */
export function showFieldMessage(form, name, message) {
  clearFieldErrors(form);
  const wrapper = form.querySelector(`[data-field="${CSS.escape(name)}"]`);
  wrapper.querySelector(".field-error").textContent = message;
  const control = wrapper.querySelector("input, select, textarea");
  control.setAttribute("aria-invalid", "true");
  control.focus();
}

/** A number input's value, or null when it is empty. */
export function numberOrNull(input) {
  return input.value.trim() === "" ? null : Number(input.value);
}
