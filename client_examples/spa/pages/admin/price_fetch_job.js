// One price fetch job: its status and progress, what it did for each symbol, and its events over
// priceFetchEvents: the retained ones replayed, then live while it runs (resumed with afterSeq after a dropped
// connection, like a run's); the stream ends with the job. A queued or running job can be cancelled, after a
// confirmation.

import { api, follow } from "../../lib/api.js";
import { facts, h, section, table } from "../../lib/dom.js";
import { dateTime, integer, label, time } from "../../lib/format.js";
import { confirmAction, errorBox, showError, statusBadge } from "../../lib/ui.js";

const RESULT_FIELDS = "symbol status barsAdded barsUpdated firstDate lastDate actionsAdded requests message";
const JOB = `query($id: ID!) { priceFetchJob(id: $id) { id status symbols interval from to actions error attempts
  createdAt startedAt endedAt cancelRequested requestedBy { email } progress { current total message }
  results { ${RESULT_FIELDS} } } }`;
const EVENTS = `subscription($jobId: ID!, $afterSeq: Int) { priceFetchEvents(jobId: $jobId, afterSeq: $afterSeq) {
  seq kind status symbol message at progress { current total message } result { ${RESULT_FIELDS} } } }`;
const CANCEL = "mutation($id: ID!) { cancelPriceFetch(id: $id) { id } }";
const ACTIVE = new Set(["QUEUED", "RUNNING"]);
const STOPPED = new Set(["FAILED", "CANCELLED"]); // final events whose message says why the job stopped
const RESULT_BADGES = { FAILED: "FAILED", NOT_FETCHED: "NOT_FETCHED" }; // other results were fetched or up to date
const SHOWN_EVENTS = 40;
export const INTERVALS = [["DAY", "Daily bars"], ["HOUR", "Hourly bars"], ["MINUTE", "One-minute bars"]];
export const intervalName = (interval) => (INTERVALS.find(([value]) => value === interval) || [interval, label(interval)])[1];

function resultRow(result) {
  const days = result.firstDate ? `${result.firstDate} – ${result.lastDate}` : "—";
  return h("tr", { dataset: { symbol: result.symbol } },
    h("th", { scope: "row" }, result.symbol),
    h("td", {}, h("span", { class: "badge", dataset: { status: RESULT_BADGES[result.status] || "COMPLETED" } }, label(result.status))),
    h("td", { class: "num" }, integer(result.barsAdded)),
    h("td", { class: "num" }, integer(result.barsUpdated)),
    h("td", { class: "nowrap" }, days),
    h("td", { class: "num" }, integer(result.actionsAdded)),
    h("td", { class: "num" }, integer(result.requests)),
    h("td", {}, result.message || ""));
}

function eventLine(event) {
  const what = [label(event.kind), event.message || event.progress.message || event.symbol].filter(Boolean).join(" · ");
  return h("li", {}, h("time", { datetime: event.at }, time(event.at)), " ", what);
}

/** The job's section; `onChange` is called when its status or results change (the jobs list follows). */
export function jobDetail(jobId, { onLeave, onChange = () => {} }) {
  const problem = errorBox();
  const status = h("span", { id: "fetch-status" });
  const bar = h("progress", { id: "fetch-progress", max: 1, value: 0 });
  const barText = h("span", { id: "fetch-progress-text" });
  const message = h("p", { class: "muted", id: "fetch-message" });
  const failure = h("p", { class: "error", id: "fetch-error" });
  const about = h("div");
  const results = h("div", { id: "fetch-results" });
  const log = h("ol", { class: "event-log", role: "log", "aria-label": "Events of this fetch" });
  const cancel = h("button", { type: "button", class: "secondary", id: "fetch-cancel", hidden: true }, "Cancel fetch");
  const cancelling = h("p", { class: "muted", id: "fetch-cancelling", role: "status", hidden: true },
    "Cancelling: the worker stops at its next call to Alpha Vantage.");
  const bySymbol = new Map();
  let job = null;
  let stop = null;

  function showCancel(value, requested) {
    cancel.hidden = !ACTIVE.has(value) || requested;
    cancelling.hidden = !ACTIVE.has(value) || !requested;
  }

  function showProgress(progress, value) {
    status.replaceChildren(statusBadge(value));
    showCancel(value, Boolean(job && job.cancelRequested));
    bar.max = Math.max(progress.total, 1);
    bar.value = progress.current;
    barText.textContent = `${progress.current} / ${progress.total} symbols`;
    message.textContent = progress.message || "";
  }

  function showResults() {
    results.replaceChildren(bySymbol.size
      ? table("What the fetch did for each symbol", [["Symbol"], ["Result"], ["Bars added", "num"], ["Bars updated", "num"],
        ["Days"], ["Splits and dividends", "num"], ["Requests", "num"], ["Note"]], [...bySymbol.values()].map(resultRow))
      : h("p", { class: "empty" }, "No symbol finished yet."));
  }

  function show(fresh) {
    job = fresh;
    showProgress(job.progress, job.status);
    failure.textContent = job.error ? `The fetch stopped: ${job.error}` : "";
    about.replaceChildren(facts([
      ["Symbols", job.symbols.join(", ")], ["Interval", intervalName(job.interval)], ["From", job.from || "newest stored bar"],
      ["To", job.to || "today"], ["Splits and dividends", job.actions ? "yes" : "no"], ["Asked by", job.requestedBy?.email || "—"],
      ["Asked", dateTime(job.createdAt)], ["Started", dateTime(job.startedAt)], ["Ended", dateTime(job.endedAt)], ["Attempts", integer(job.attempts)],
    ]));
    bySymbol.clear();
    job.results.forEach((result) => bySymbol.set(result.symbol, result));
    showResults();
  }

  async function load() {
    try {
      show((await api(JOB, { id: jobId })).priceFetchJob);
    } catch (error) {
      showError(problem, error);
      return;
    }
    if (!stop) followLive();
  }

  function followLive() {
    stop = follow({
      query: EVENTS,
      field: "priceFetchEvents",
      variables: { jobId },
      onEvent(event) {
        log.prepend(eventLine(event));
        while (log.children.length > SHOWN_EVENTS) log.lastChild.remove();
        showProgress(event.progress, event.status);
        if (event.result) {
          bySymbol.set(event.result.symbol, event.result);
          showResults();
        }
        if (STOPPED.has(event.kind) && event.message) failure.textContent = `The fetch stopped: ${event.message}`;
        if (event.kind !== "PROGRESS" && event.kind !== "SYMBOL_STARTED") onChange(event);
      },
      onError: (error) => showError(problem, error),
      onComplete: () => api(JOB, { id: jobId }).then((data) => show(data.priceFetchJob)).catch((error) => showError(problem, error)),
    });
  }
  onLeave(() => stop && stop());

  cancel.addEventListener("click", async () => {
    const sure = await confirmAction({
      title: "Cancel this price fetch?",
      message: "A queued fetch ends now. A running one stops at its next call to Alpha Vantage: the symbols it finished "
        + "stay stored, the one in progress writes nothing, and the rest are not fetched.",
      confirmLabel: "Cancel fetch", cancelLabel: "Keep it running",
    });
    if (!sure) return;
    try {
      await api(CANCEL, { id: jobId });
      show((await api(JOB, { id: jobId })).priceFetchJob);
      showError(problem, null);
      onChange({ kind: "CANCEL_REQUESTED" });
    } catch (error) {
      showError(problem, error);
    }
  });

  const element = section("This fetch",
    h("div", { class: "run-head" }, h("span", {}, "Status"), h("div", { class: "actions" }, status, cancel)), cancelling,
    h("label", { for: "fetch-progress", class: "progress-label" }, "Progress ", barText), bar,
    message, failure, problem, about, results,
    h("h3", {}, "Events"), h("p", { class: "muted" }, "Newest first, as the worker reports them."), log);
  return { element, load };
}
