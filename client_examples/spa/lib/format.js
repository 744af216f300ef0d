// Numbers, money, percentages and dates as a person reads them. Missing values show as an em dash.

const DASH = "—";
const moneyFormat = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const percentFormat = new Intl.NumberFormat(undefined, { style: "percent", minimumFractionDigits: 2, maximumFractionDigits: 2 });
const integerFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const decimalFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });

const missing = (value) => value == null || Number.isNaN(value);

export const money = (value) => (missing(value) ? DASH : moneyFormat.format(value));
export const percent = (value) => (missing(value) ? DASH : percentFormat.format(value));
export const integer = (value) => (missing(value) ? DASH : integerFormat.format(value));
export const decimal = (value) => (missing(value) ? DASH : decimalFormat.format(value));

/** A signed percentage for returns: "+4.20 %" or "−1.05 %". */
export function signedPercent(value) {
  if (missing(value)) return DASH;
  return `${value > 0 ? "+" : ""}${percentFormat.format(value)}`;
}

/** An ISO date (2025-01-02) stays as it is: trading dates are the exchange's, not the reader's zone. */
export const date = (value) => value || DASH;

export const dateTime = (value) => (value ? dateTimeFormat.format(new Date(value)) : DASH);
export const time = (value) => (value ? timeFormat.format(new Date(value)) : DASH);

/** "RUNNING" -> "Running". */
export function label(enumValue) {
  if (!enumValue) return DASH;
  const words = String(enumValue).toLowerCase().replaceAll("_", " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** {"AAPL": 10, "MSFT": 4} -> "AAPL 10, MSFT 4". */
export function holdings(value) {
  const entries = Object.entries(value || {}).filter(([, shares]) => shares);
  return entries.length ? entries.map(([symbol, shares]) => `${symbol} ${integerFormat.format(shares)}`).join(", ") : "none";
}

export function tone(value) {
  if (missing(value) || value === 0) return "";
  return value > 0 ? "good" : "bad";
}
