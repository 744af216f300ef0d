// A model's trading costs and position cap: the model form's fieldset, and the one line that describes them
// on the model and run pages. The API keeps the cap as a fraction (0.25); people read and type a percentage.

import { h } from "../lib/dom.js";
import { field, numberOrNull } from "../lib/forms.js";
import { decimal, money } from "../lib/format.js";

// [GraphQL name, label, most, step, help]; the API refuses more decimals than the step allows.
export const COSTS = [
  ["commissionFixed", "Commission per order", 10000, 0.01, "Cash paid on every buy and sell."],
  ["commissionBps", "Commission (bp)", 1000, 0.0001, "Basis points of the order's value: 10 bp is 0.1 %."],
  ["commissionMinimum", "Minimum commission", 10000, 0.01, "The least one order costs."],
  ["slippageBps", "Slippage (bp)", 1000, 0.0001, "Buys fill this far above the open, sells below it."],
];
const CAP = "maxPositionWeight";

/** 0.25 -> 25, and back; six decimals of a fraction at most, as the API takes them. */
const capPercent = (fraction) => (fraction == null ? "" : Number((fraction * 100).toFixed(4)));
const capFraction = (percent) => Math.round(percent * 10000) / 1e6;

export const costsFieldset = {
  legend: "Costs and caps",
  build: (model) => [
    h("p", { class: "muted" }, "What each trade costs in the runs of this model; all zero by default. ",
      "The fee is the larger of the minimum and the fixed commission plus the basis points."),
    h("div", { class: "grid-fields" },
      COSTS.map(([name, labelText, most, step, help]) =>
        field(labelText, h("input", { name, type: "number", min: 0, max: most, step, inputmode: "decimal", value: model.costs?.[name] ?? 0 }),
          { help, name: `costs.${name}` })),
      field("Max position (%)", h("input", { name: CAP, type: "number", min: 0.0001, max: 100, step: "any", inputmode: "decimal",
        value: capPercent(model.costs?.[CAP]) }),
      { help: "A buy that would take one symbol above this share of the portfolio's value is refused. Empty: no cap.", name: `costs.${CAP}` })),
  ],
  check(form) {
    const cap = numberOrNull(form.elements[CAP]);
    if (cap !== null && !(cap > 0 && cap <= 100)) return [`costs.${CAP}`, "Give a share above 0 % and at most 100 %, or leave it empty for no cap."];
    return null;
  },
  read: (form) => {
    const cap = numberOrNull(form.elements[CAP]);
    return {
      costs: {
        ...Object.fromEntries(COSTS.map(([name]) => [name, numberOrNull(form.elements[name]) ?? 0])),
        [CAP]: cap === null ? null : capFraction(cap),
      },
    };
  },
};

/** "commission 1.00 per order + 5 bp, at least 2.00 · slippage 10 bp · at most 25 % in one symbol", or "none (...)". */
export function describeCosts(costs) {
  if (!costs) return "—";
  const parts = [];
  const commission = [costs.commissionFixed ? `${money(costs.commissionFixed)} per order` : null,
    costs.commissionBps ? `${decimal(costs.commissionBps)} bp` : null].filter(Boolean).join(" + ");
  if (commission || costs.commissionMinimum) {
    parts.push(`commission ${commission || "0"}${costs.commissionMinimum ? `, at least ${money(costs.commissionMinimum)}` : ""}`);
  }
  if (costs.slippageBps) parts.push(`slippage ${decimal(costs.slippageBps)} bp`);
  if (costs[CAP] != null) parts.push(`at most ${capPercent(costs[CAP])} % in one symbol`);
  return parts.length ? parts.join(" · ") : "none (no commission, no slippage, no cap)";
}
