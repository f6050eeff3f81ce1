// @ts-check
/**
 * The DOM helpers every view uses. What the server says reaches the page only as text
 * (`textContent`) or data attributes, never parsed as HTML: `el` and `setText` are the way in.
 *
 * @module
 */

/**
 * The page's element `id`, of the type expected of it.
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new () => T} type
 * @returns {T}
 */
export function byId(id, type) {
  const node = document.getElementById(id);
  if (!(node instanceof type)) throw new Error(`the page has no ${type.name} #${id}`);
  return node;
}

/**
 * The page's element `id`.
 * @param {string} id
 */
export function $(id) {
  return byId(id, HTMLElement);
}

/**
 * A new element with a class and text (text only: never parsed as HTML).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {string} [className]
 * @param {unknown} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

/**
 * Sets a node's text, touching the DOM only when it changes.
 * @param {Node} node
 * @param {unknown} text
 */
export function setText(node, text) {
  const s = String(text);
  if (node.textContent !== s) node.textContent = s;
}

/**
 * Puts `items` into `list` in this order, moving only those out of place (others in `list`
 * are left after them).
 * @param {Element} list
 * @param {Iterable<Element>} items
 */
export function placeInOrder(list, items) {
  /** @type {Element | null} */
  let previous = null;
  for (const item of items) {
    /** @type {ChildNode | null} */
    const expected = previous === null ? list.firstChild : previous.nextSibling;
    if (expected !== item) list.insertBefore(item, expected);
    previous = item;
  }
}

let toastTimer = 0;

/**
 * Shows `message` at the bottom of the page for five seconds.
 * @param {string} message
 */
export function toast(message) {
  const t = $("toast");
  t.textContent = message;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (t.hidden = true), 5000);
}

/**
 * An error's message, for people.
 * @param {unknown} error
 */
export function messageOf(error) {
  return error instanceof Error ? error.message : String(error);
}
