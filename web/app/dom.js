// dom.js — the few DOM helpers every screen shares: build elements without innerHTML (so no
// user text is ever parsed as markup), format times, keep lists bounded.

/**
 * Creates an element. `props`: `class`, `text`, `on: {click: fn}`, `dataset`, `style`,
 * anything else as an attribute (`false`/`null` leave it out, `true` sets it empty).
 * Children are nodes or strings (as text).
 * @param {string} tag
 * @param {Record<string, any>} [props]
 * @param {...(Node|string|null|undefined|false)} children
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key === "on") for (const [type, fn] of Object.entries(value)) el.addEventListener(type, fn);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** `12:03` today, `3 Jan 12:03` before. */
export function clock(ts) {
  const d = new Date(ts);
  const time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  if (new Date().toDateString() === d.toDateString()) return time;
  return `${d.toLocaleDateString([], { day: "numeric", month: "short" })} ${time}`;
}

/** `m:ss` for a number of seconds. */
export function minutes(secs) {
  const s = Math.max(0, Math.floor(secs));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** Removes the oldest children of `list` beyond `max` (lists never grow without bound). */
export function bound(list, max) {
  while (list.childElementCount > max) list.firstElementChild.remove();
}

/** A status line (`role=status`) a screen fills with a result or an error. */
export function notice() {
  const el = h("p", { class: "notice", role: "status", "aria-live": "polite" });
  el.show = (text, kind = "error") => {
    el.textContent = text;
    el.dataset.kind = kind;
    el.hidden = !text;
  };
  el.hidden = true;
  return el;
}
