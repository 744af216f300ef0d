// Markdown for the analyst's replies, rendered safely: the text is never parsed as HTML. Every piece
// becomes a DOM node built here (a text node for all text), so "<script>" or "<img onerror=...>" in a
// reply shows as those characters and cannot run. The subset: headings, paragraphs with line breaks,
// **bold**, *italic*, `code`, fenced code blocks, lists (nested by indentation), block quotes, rules,
// pipe tables, and [links](https://...) whose target is http or https (anything else stays plain text).

import { h } from "./dom.js";

const FENCE = /^\s*(```|~~~)\s*([\w+-]*)\s*$/;
const HEADING = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const RULE = /^\s{0,3}([-*_])(\s*\1){2,}\s*$/;
const QUOTE = /^\s{0,3}>\s?(.*)$/;
const ITEM = /^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/;
const TABLE_DIVIDER = /^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/;
const MAX_DEPTH = 8; // nested quotes and lists beyond this are shown as text

// The earliest of these starts the next inline element; the order breaks ties (code first: nothing inside it).
const INLINE = [
  ["code", /(`+)([\s\S]+?)\1/],
  ["link", /\[([^\]\n]+)\]\(\s*([^()\s]+)\s*\)/],
  ["strong", /\*\*(?=\S)([\s\S]*?\S)\*\*|(?<!\w)__(?=\S)([\s\S]*?\S)__(?!\w)/],
  ["em", /\*(?=\S)([\s\S]*?\S)\*|(?<![\w])_(?=\S)([\s\S]*?\S)_(?![\w])/],
];

/** The http(s) URL a link may point to, or null. */
export function safeLinkTarget(raw) {
  let url;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
}

function inline(text) {
  const nodes = [];
  let rest = text;
  while (rest) {
    let best = null;
    for (const [kind, pattern] of INLINE) {
      const found = pattern.exec(rest);
      if (found && (!best || found.index < best.found.index)) best = { kind, found };
    }
    if (!best) break;
    const { kind, found } = best;
    if (found.index) nodes.push(...lineBreaks(rest.slice(0, found.index)));
    nodes.push(inlineElement(kind, found));
    rest = rest.slice(found.index + found[0].length);
  }
  if (rest) nodes.push(...lineBreaks(rest));
  return nodes;
}

function inlineElement(kind, found) {
  if (kind === "code") return h("code", {}, found[2].trim() || found[2]);
  if (kind === "link") {
    const target = safeLinkTarget(found[2]);
    if (!target) return h("span", {}, inline(found[1]));
    return h("a", { href: target, target: "_blank", rel: "noopener noreferrer nofollow" }, inline(found[1]));
  }
  return h(kind, {}, inline(found[1] ?? found[2]));
}

function lineBreaks(text) {
  return text.split("\n").flatMap((part, i) => (i ? [h("br"), part] : [part]));
}

function cells(row) {
  return row.trim().replace(/^\|/, "").replace(/\|$/, "").split("|").map((cell) => cell.trim());
}

function tableBlock(lines) {
  const [head, , ...body] = lines;
  return h("div", { class: "table-scroll" },
    h("table", {},
      h("thead", {}, h("tr", {}, cells(head).map((cell) => h("th", { scope: "col" }, inline(cell))))),
      h("tbody", {}, body.map((row) => h("tr", {}, cells(row).map((cell) => h("td", {}, inline(cell))))))));
}

function listBlock(lines, depth) {
  const ordered = /\d/.test(ITEM.exec(lines[0])[2]);
  const indent = ITEM.exec(lines[0])[1].length;
  const items = [];
  for (const line of lines) {
    const found = ITEM.exec(line);
    if (found && found[1].length <= indent + 1) items.push([found[3]]);
    else items[items.length - 1].push(line.slice(Math.min(indent + 2, line.search(/\S|$/))));
  }
  // Items are tight (a blank line ends the list): their paragraphs are unwrapped.
  return h(ordered ? "ol" : "ul", {}, items.map((itemLines) =>
    h("li", {}, blocks(itemLines, depth + 1).map((block) => (block.tagName === "P" ? [...block.childNodes] : block)))));
}

function startsBlock(line, next) {
  return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line) || ITEM.test(line)
    || (line.includes("|") && next !== undefined && TABLE_DIVIDER.test(next));
}

/** Parses lines into block elements. */
function blocks(lines, depth = 0) {
  if (depth > MAX_DEPTH) return [h("p", {}, lineBreaks(lines.join("\n")))];
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    let found;
    if (!line.trim()) {
      i += 1;
    } else if ((found = FENCE.exec(line))) {
      const end = lines.findIndex((l, j) => j > i && l.trim().startsWith(found[1]));
      const stop = end === -1 ? lines.length : end;
      const language = found[2] ? `language-${found[2]}` : null;
      out.push(h("pre", {}, h("code", { class: language }, lines.slice(i + 1, stop).join("\n"))));
      i = stop + 1;
    } else if ((found = HEADING.exec(line))) {
      out.push(h(`h${Math.min(found[1].length + 2, 6)}`, {}, inline(found[2])));
      i += 1;
    } else if (RULE.test(line)) {
      out.push(h("hr"));
      i += 1;
    } else if (QUOTE.test(line)) {
      const quoted = [];
      while (i < lines.length && QUOTE.test(lines[i])) quoted.push(QUOTE.exec(lines[i++])[1]);
      out.push(h("blockquote", {}, blocks(quoted, depth + 1)));
    } else if ((found = ITEM.exec(line))) {
      // One list: its items and their indented lines, until a blank line or an item of the other kind.
      const ordered = /\d/.test(found[2]);
      const listed = [lines[i++]];
      while (i < lines.length && lines[i].trim()) {
        const item = ITEM.exec(lines[i]);
        if (item ? item[1].length <= found[1].length + 1 && /\d/.test(item[2]) !== ordered : !/^\s+\S/.test(lines[i])) break;
        listed.push(lines[i++]);
      }
      out.push(listBlock(listed, depth));
    } else if (line.includes("|") && i + 1 < lines.length && TABLE_DIVIDER.test(lines[i + 1])) {
      const rows = [line, lines[i + 1]];
      i += 2;
      while (i < lines.length && lines[i].includes("|") && lines[i].trim()) rows.push(lines[i++]);
      out.push(tableBlock(rows));
    } else {
      const paragraph = [line];
      i += 1;
      while (i < lines.length && lines[i].trim() && !startsBlock(lines[i], lines[i + 1])) paragraph.push(lines[i++]);
      out.push(h("p", {}, inline(paragraph.join("\n"))));
    }
  }
  return out;
}

/** A fragment of safe DOM nodes for a Markdown text. */
export function renderMarkdown(text) {
  const fragment = document.createDocumentFragment();
  fragment.append(...blocks(String(text ?? "").replace(/\r\n?/g, "\n").split("\n")));
  return fragment;
}
