// Small pieces every page uses: error messages, status badges, confirmation, downloads, paging.

import { h, link } from "./dom.js";
import { label } from "./format.js";
import { describeError } from "./graphql.js";

/** An error as a person reads it: message, code and request id. Empty when there is no error. */
export function errorBox(error = null) {
  const box = h("p", { class: "error", role: "alert" });
  showError(box, error);
  return box;
}

export function showError(box, error) {
  box.textContent = error ? describeError(error) : "";
  if (error && error.code) box.dataset.code = error.code;
  else delete box.dataset.code;
}

export function statusBadge(status) {
  return h("span", { class: "badge", dataset: { status } }, label(status));
}

export function loading(text = "Loading…") {
  return h("p", { class: "muted", role: "status" }, text);
}

/**
 * Asks before something that cannot be undone; resolves to true when confirmed. A modal <dialog>:
 * focus moves into it, Escape cancels, and focus returns to where it was.
 */
export function confirmAction({ title, message, confirmLabel = "Delete", cancelLabel = "Cancel", danger = true }) {
  return new Promise((resolve) => {
    const returnFocus = document.activeElement;
    const dialog = h("dialog", { class: "confirm", "aria-labelledby": "confirm-title", "aria-describedby": "confirm-text" },
      h("form", { method: "dialog" },
        h("h2", { id: "confirm-title" }, title),
        h("p", { id: "confirm-text" }, message),
        h("div", { class: "actions" },
          h("button", { type: "submit", value: "cancel", class: "secondary", autofocus: true }, cancelLabel),
          h("button", { type: "submit", value: "confirm", class: danger ? "danger" : "" }, confirmLabel))));
    dialog.addEventListener("close", () => {
      dialog.remove();
      if (returnFocus && returnFocus.isConnected) returnFocus.focus();
      resolve(dialog.returnValue === "confirm");
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** Saves text as a file the browser downloads. */
export function download(filename, text, type = "text/plain") {
  const url = URL.createObjectURL(new Blob([text], { type: `${type};charset=utf-8` }));
  const anchor = h("a", { href: url, download: filename, hidden: true });
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** Disables a form's buttons while `work` runs. */
export async function busy(form, work) {
  const buttons = [...form.querySelectorAll("button")];
  buttons.forEach((b) => { b.disabled = true; });
  form.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
    form.removeAttribute("aria-busy");
  }
}

/**
 * Forward paging over a Relay connection with a way back: keeps the cursors of the pages seen.
 * `load(after)` resolves to the connection; `show(connection, firstIndex)` draws one page.
 */
export function cursorPager({ load, show, name }) {
  const starts = [null];
  let index = 0;
  const status = h("span", { class: "muted", "aria-live": "polite" });
  const previous = h("button", { type: "button", class: "secondary", "aria-label": `Previous page of ${name}` }, "Previous");
  const next = h("button", { type: "button", class: "secondary", "aria-label": `Next page of ${name}` }, "Next");
  const nav = h("nav", { class: "pager", "aria-label": `Pages of ${name}` }, previous, status, next);
  let pageSize = 0;

  async function go(to) {
    const connection = await load(starts[to]);
    index = to;
    if (connection.pageInfo.hasNextPage) starts[index + 1] = connection.pageInfo.endCursor;
    pageSize = Math.max(pageSize, connection.edges.length);
    const first = index * pageSize;
    show(connection, first);
    const shown = connection.edges.length;
    status.textContent = connection.totalCount
      ? `${first + 1}–${first + shown} of ${connection.totalCount}`
      : "none";
    previous.disabled = index === 0;
    next.disabled = !connection.pageInfo.hasNextPage;
    nav.hidden = index === 0 && !connection.pageInfo.hasNextPage;
  }
  previous.addEventListener("click", () => go(index - 1));
  next.addEventListener("click", () => go(index + 1));
  return { nav, reload: () => go(index), first: () => go(0) };
}

/** The page for an id that names nothing of the user's (or nothing at all: the API does not say which). */
export function notFoundPage(view, kind, backPath, backText) {
  view.append(h("section", { class: "card" },
    h("h1", { tabindex: -1 }, `No such ${kind}`),
    h("p", {}, `This ${kind} does not exist or is not yours. `, link(backPath, backText), ".")));
}
