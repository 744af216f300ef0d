// /models/new and /models/:id/edit: the model form, saved with createModel or updateModel.

import { api } from "../lib/api.js";
import { h } from "../lib/dom.js";
import { clearFieldErrors, showFormError } from "../lib/forms.js";
import { navigate } from "../lib/navigation.js";
import { busy, notFoundPage } from "../lib/ui.js";
import { modelForm } from "./model_form.js";

const MODEL_FIELDS = `id name description isActive allowedTickers initialCash aiModel customRules customInstructions extraTools
  parameters { temperature topP topK frequencyPenalty presencePenalty maxTokens }
  costs { commissionFixed commissionBps commissionMinimum slippageBps maxPositionWeight }`;
const LOAD = `query($id: ID!, $editing: Boolean!) { aiModels { id local }
  model(id: $id) @include(if: $editing) { ${MODEL_FIELDS} } }`;
const CREATE = `mutation($input: CreateModelInput!) { createModel(input: $input) { id } }`;
const UPDATE = `mutation($id: ID!, $input: UpdateModelInput!) { updateModel(id: $id, input: $input) { id } }`;

export async function render(view, { params }) {
  const editing = Boolean(params.id);
  let data;
  try {
    data = await api(LOAD, { id: params.id || "", editing });
  } catch (error) {
    if (error.code !== "NOT_FOUND") throw error;
    notFoundPage(view, "model", "/models", "Back to your models");
    return;
  }
  const model = data.model || {};
  const form = modelForm({
    model,
    aiModels: data.aiModels,
    editing,
    submitLabel: editing ? "Save changes" : "Create model",
    cancelPath: editing ? `/models/${model.id}` : "/models",
    onSubmit: (input, formElement, general) => busy(formElement, async () => {
      clearFieldErrors(formElement);
      try {
        const id = editing
          ? (await api(UPDATE, { id: model.id, input })).updateModel.id
          : (await api(CREATE, { input })).createModel.id;
        navigate(`/models/${id}`);
      } catch (error) {
        showFormError(formElement, error, general);
      }
    }),
  });
  view.append(h("h1", { tabindex: -1 }, editing ? `Edit ${model.name}` : "New model"), h("section", { class: "card" }, form));
}
