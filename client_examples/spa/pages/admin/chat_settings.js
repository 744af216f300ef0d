// The chat AI every user talks to: its model, instructions and parameters.

import { api } from "../../lib/api.js";
import { dateTime } from "../../lib/format.js";
import { h, section } from "../../lib/dom.js";
import { clearFieldErrors, field, numberOrNull, select, showFormError } from "../../lib/forms.js";
import { busy, errorBox } from "../../lib/ui.js";
import { PARAMETERS } from "../model_form.js";

const PARAMETER_FIELDS = PARAMETERS.map(([name]) => name).join(" ");
const LOAD = `{ aiModels { id local } globalChatSettings { chatModel instructions updatedAt parameters { ${PARAMETER_FIELDS} } } }`;
const SAVE = `mutation($input: GlobalChatSettingsInput!) { updateGlobalChatSettings(input: $input) {
  chatModel instructions updatedAt parameters { ${PARAMETER_FIELDS} } } }`;

export async function render(view) {
  const { aiModels, globalChatSettings: current } = await api(LOAD);
  const general = errorBox();
  const done = h("p", { class: "notice", role: "status" });
  const chatModels = aiModels.filter((m) => !m.local || m.id === "local/analyst").map((m) => [m.id, m.id]);
  const form = h("form", { novalidate: true },
    field("Chat model", select({ name: "chatModel" }, chatModels, current.chatModel), { help: "local/analyst needs no network." }),
    field("Instructions (optional)", h("textarea", { name: "instructions", rows: 4, value: current.instructions || "" }),
      { help: "Added to the analyst's system prompt for every user." }),
    h("div", { class: "grid-fields" }, PARAMETERS.map(([name, text, min, max, step]) =>
      field(text, h("input", { name, type: "number", min, max, step, value: current.parameters[name] ?? "" }), { name: `parameters.${name}` }))),
    general, done, h("div", { class: "actions" }, h("button", { type: "submit" }, "Save chat settings")));
  const updated = h("p", { class: "muted" }, `Last changed: ${dateTime(current.updatedAt)}`);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    done.textContent = "";
    busy(form, async () => {
      clearFieldErrors(form);
      try {
        const input = {
          chatModel: form.elements.chatModel.value,
          instructions: form.elements.instructions.value.trim() || null,
          parameters: Object.fromEntries(PARAMETERS.map(([name]) => [name, numberOrNull(form.elements[name])])),
        };
        const saved = (await api(SAVE, { input })).updateGlobalChatSettings;
        updated.textContent = `Last changed: ${dateTime(saved.updatedAt)}`;
        done.textContent = "Chat settings saved.";
      } catch (error) {
        showFormError(form, error, general);
      }
    });
  });
  view.append(section("Global chat settings", updated, form));
}
