// DOM helpers for the dashboard: text always goes in as text nodes, never as HTML.

/** A text node. */
export function text(s) {
  return document.createTextNode(s === null || s === undefined ? "" : String(s));
}

/** An element with a class and children (nodes or strings, strings become text nodes). */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  if (attrs.class) e.className = attrs.class;
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : text(c));
  }
  return e;
}
