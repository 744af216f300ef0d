// Price fetch jobs: start a fetch from Alpha Vantage (symbols, days, interval), the jobs newest first, and
// the chosen one (?job=<id>) followed live by price_fetch_job.js.

import { api } from "../../lib/api.js";
import { h, link, section, table } from "../../lib/dom.js";
import { checkbox, clearFieldErrors, field, select, showFieldMessage, showFormError } from "../../lib/forms.js";
import { dateTime } from "../../lib/format.js";
import { navigate } from "../../lib/navigation.js";
import { busy, cursorPager, errorBox, showError, statusBadge } from "../../lib/ui.js";
import { INTERVALS, intervalName, jobDetail } from "./price_fetch_job.js";

const PAGE = "/admin/price-fetches";
const JOBS = `query($after: String) { priceFetchJobs(first: 10, after: $after) { totalCount pageInfo { hasNextPage endCursor }
  edges { node { id status symbols interval from to createdAt progress { current total } requestedBy { email } } } } }`;
const FETCH = "mutation($input: FetchPricesInput!) { fetchPrices(input: $input) { id } }";
const SHOWN_SYMBOLS = 6;
const LIST_RELOAD_MS = 300;

function symbolsText(symbols) {
  const more = symbols.length - SHOWN_SYMBOLS;
  return symbols.slice(0, SHOWN_SYMBOLS).join(", ") + (more > 0 ? ` and ${more} more` : "");
}

function rangeText(job) {
  if (!job.from && !job.to) return "from the newest stored bar to today";
  return `${job.from || "newest stored"} – ${job.to || "today"}`;
}

function fetchForm(onStarted) {
  const general = errorBox();
  const form = h("form", { class: "fetch-form", novalidate: true },
    field("Symbols", h("input", { name: "symbols", placeholder: "AAPL, MSFT", autocapitalize: "characters" }),
      { help: "Ticker symbols separated by commas." }),
    checkbox("Add every Nasdaq-100 symbol", { name: "universe" }),
    h("div", { class: "inline-fields" },
      field("From (optional)", h("input", { name: "from", type: "date" }), { help: "Empty: on from each symbol's newest stored bar." }),
      field("To (optional)", h("input", { name: "to", type: "date" }), { help: "Empty: today." }),
      field("Interval", select({ name: "interval" }, INTERVALS, "DAY"))),
    checkbox("Fetch splits and dividends too", { name: "actions", checked: true }),
    general,
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Start fetch")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const values = form.elements;
    const symbols = values.symbols.value.split(/[\s,;]+/).map((s) => s.trim().toUpperCase()).filter(Boolean);
    if (!symbols.length && !values.universe.checked) {
      showFieldMessage(form, "symbols", "Name at least one symbol, or add the Nasdaq-100.");
      return;
    }
    const input = {
      symbols, universe: values.universe.checked ? "nasdaq100" : null, from: values.from.value || null, to: values.to.value || null,
      interval: values.interval.value, actions: values.actions.checked,
    };
    busy(form, async () => {
      clearFieldErrors(form);
      try {
        onStarted((await api(FETCH, { input })).fetchPrices);
        form.reset();
      } catch (error) {
        showFormError(form, error, general);
      }
    });
  });
  return form;
}

function jobRow(job, chosen) {
  const progress = `${job.progress.current} / ${job.progress.total}`;
  return h("tr", { dataset: { jobId: job.id }, "aria-current": job.id === chosen ? "true" : null },
    h("th", { scope: "row" }, link(`${PAGE}?job=${encodeURIComponent(job.id)}`, dateTime(job.createdAt),
      { "aria-label": `Open the fetch of ${symbolsText(job.symbols)} asked at ${dateTime(job.createdAt)}` })),
    h("td", {}, symbolsText(job.symbols)),
    h("td", {}, intervalName(job.interval)),
    h("td", { class: "nowrap" }, rangeText(job)),
    h("td", {}, statusBadge(job.status), " ", h("span", { class: "muted" }, progress)),
    h("td", {}, job.requestedBy ? job.requestedBy.email : "—"));
}

export async function render(view, { query, onLeave }) {
  const chosen = query.get("job");
  const problem = errorBox();
  const list = h("div");
  const pager = cursorPager({
    name: "price fetch jobs",
    load: async (after) => (await api(JOBS, { after })).priceFetchJobs,
    show(connection) {
      list.replaceChildren(connection.edges.length
        ? table("Price fetch jobs, newest first", [["Asked"], ["Symbols"], ["Interval"], ["Days"], ["Status"], ["By"]],
          connection.edges.map(({ node }) => jobRow(node, chosen)))
        : h("p", { class: "empty" }, "No fetches yet."));
    },
  });
  let timer = null;
  const reloadList = () => { // one reload per burst of events
    clearTimeout(timer);
    timer = setTimeout(() => pager.reload().catch((error) => showError(problem, error)), LIST_RELOAD_MS);
  };
  onLeave(() => clearTimeout(timer));
  const form = fetchForm((job) => navigate(`${PAGE}?job=${encodeURIComponent(job.id)}`));
  view.append(section("Fetch prices", h("p", { class: "muted" },
    "A worker asks Alpha Vantage for the sessions not stored yet, one symbol after another, within the key's rate limit."), form));
  if (chosen) {
    const detail = jobDetail(chosen, { onLeave, onChange: reloadList });
    view.append(detail.element);
    await detail.load();
  }
  view.append(section("Jobs", problem, list, pager.nav));
  await pager.first().catch((error) => showError(problem, error));
}
