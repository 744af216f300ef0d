// Navigation by URL with the History API: deep links, back and forward, and reloads that keep the place.
//
// A route is {path: "/runs/:id", load: () => import("../pages/run.js"), title, access}; `access` is
// "public", "user" (the default) or "admin". A page module exports render(view, context), where
// context = {params, query, signal, onLeave(fn), setQuery(values)}; `signal` aborts when the user leaves.

export const BASE = "/app";

function compile(path) {
  const names = [];
  const pattern = path.replace(/:([a-zA-Z]+)/g, (_, name) => {
    names.push(name);
    return "([^/]+)";
  });
  return { regex: new RegExp(`^${pattern}/?$`), names };
}

export class Router {
  /**
   * @param {object} options
   * @param {Array} options.routes            the route table (first match wins)
   * @param {HTMLElement} options.outlet      where pages render
   * @param {(route, location) => string|object|null} options.guard  null to render the route, a path to
   *        go to instead, or another route to render here (e.g. "admins only")
   * @param {(route, view) => void} [options.afterRender]
   * @param {(view, error) => void} options.renderError  shows a page that failed to render
   * @param {object} options.notFound         the route rendered when nothing matches
   */
  constructor({ routes, outlet, guard, afterRender = () => {}, renderError, notFound }) {
    this.routes = routes.map((route) => ({ ...route, ...compile(route.path) }));
    this.outlet = outlet;
    this.guard = guard;
    this.afterRender = afterRender;
    this.renderError = renderError;
    this.notFound = notFound;
    this.leaving = null;
    this.renderCount = 0;
  }

  start() {
    window.addEventListener("popstate", () => this.render());
    document.addEventListener("click", (event) => this.#interceptLink(event));
    return this.render();
  }

  /** The path inside the app, with its query: "/runs/abc?day=2025-01-03". */
  get current() {
    const path = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) || "/" : "/";
    return path + location.search;
  }

  navigate(path, { replace = false } = {}) {
    const url = BASE + (path.startsWith("/") ? path : `/${path}`);
    if (url === location.pathname + location.search && !replace) return this.render();
    history[replace ? "replaceState" : "pushState"](null, "", url);
    return this.render();
  }

  /** Changes the query string without rendering again (a filter, the chosen day): reload keeps it. */
  setQuery(values) {
    const query = new URLSearchParams(location.search);
    for (const [key, value] of Object.entries(values)) {
      if (value == null || value === "") query.delete(key);
      else query.set(key, value);
    }
    const search = query.toString();
    history.replaceState(null, "", location.pathname + (search ? `?${search}` : ""));
  }

  match(pathname) {
    for (const route of this.routes) {
      const found = route.regex.exec(pathname);
      if (found) {
        const params = Object.fromEntries(route.names.map((name, i) => [name, decodeURIComponent(found[i + 1])]));
        return { route, params };
      }
    }
    return { route: this.notFound, params: {} };
  }

  async render() {
    const number = ++this.renderCount;
    if (this.leaving) this.leaving();
    const path = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) || "/" : "/";
    const matched = this.match(path);
    let { route } = matched;
    if (route.redirect) return this.navigate(route.redirect, { replace: true });
    const detour = this.guard(route, this.current);
    if (typeof detour === "string") return this.navigate(detour, { replace: true });
    if (detour) route = detour;
    const { params } = matched;

    const controller = new AbortController();
    const cleanups = [];
    this.leaving = () => {
      controller.abort();
      cleanups.splice(0).forEach((fn) => fn());
    };
    const view = document.createElement("div");
    view.className = "page";
    this.outlet.replaceChildren(view);
    document.title = route.title ? `${route.title} · AIBT` : "AIBT";
    try {
      const page = await route.load();
      if (number !== this.renderCount) return undefined; // left before the page's code arrived
      await page.render(view, {
        params,
        query: new URLSearchParams(location.search),
        signal: controller.signal,
        onLeave: (fn) => cleanups.push(fn),
        setQuery: (values) => this.setQuery(values),
      });
    } catch (error) {
      if (controller.signal.aborted) return undefined;
      this.renderError(view, error);
    }
    if (number === this.renderCount) this.afterRender(route, view);
    return undefined;
  }

  #interceptLink(event) {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const anchor = event.target.closest("a[href]");
    if (!anchor || anchor.target || anchor.hasAttribute("download")) return;
    const url = new URL(anchor.href, location.href);
    if (url.hash && url.pathname === location.pathname && url.search === location.search) return; // in-page anchor
    if (url.origin !== location.origin || !(url.pathname === BASE || url.pathname.startsWith(`${BASE}/`))) return;
    event.preventDefault();
    this.navigate(url.pathname.slice(BASE.length) + url.search);
  }
}
