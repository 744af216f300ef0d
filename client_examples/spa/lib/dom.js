// Building the page from data without ever parsing data as HTML: every text goes in as a text node.

const SVG_NS = "http://www.w3.org/2000/svg";

function appendChildren(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

/**
 * An HTML element: h("button", {type: "button", onclick: go, "aria-label": "Open"}, "Open").
 * `class` sets the class, `text` the text; `on<event>` adds a listener; names the element has as
 * properties are set as properties (value, hidden, checked), anything else as an attribute.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value == null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key in el && !key.includes("-") && key !== "list" && key !== "form") el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  appendChildren(el, children);
  return el;
}

/** An SVG element; every prop is an attribute. */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value != null && value !== false) el.setAttribute(key, String(value));
  }
  appendChildren(el, children);
  return el;
}

let uniqueCounter = 0;
/** An id no other element of the page has: for label/aria-describedby pairs. */
export function uniqueId(prefix = "id") {
  uniqueCounter += 1;
  return `${prefix}-${uniqueCounter}`;
}

/** A link inside the app; the router turns its clicks into navigation without a reload. */
export function link(path, text, props = {}) {
  return h("a", { href: `/app${path}`, ...props }, text);
}

/** A section with a heading, labelled by it. */
export function section(title, ...children) {
  const id = uniqueId("section");
  return h("section", { class: "card", "aria-labelledby": id }, h("h2", { id }, title), ...children);
}

/** A table with a visually hidden caption; `columns` are [label, className?] pairs. */
export function table(caption, columns, rows) {
  return h("div", { class: "table-scroll" },
    h("table", {},
      h("caption", { class: "visually-hidden" }, caption),
      h("thead", {}, h("tr", {}, columns.map(([label, className]) => h("th", { scope: "col", class: className }, label)))),
      h("tbody", {}, rows)));
}

/** A definition list of [term, value] pairs, e.g. run figures. */
export function facts(pairs, className = "facts") {
  return h("dl", { class: className }, pairs.map(([term, value]) => h("div", {}, h("dt", {}, term), h("dd", {}, value))));
}
