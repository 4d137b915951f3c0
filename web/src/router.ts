// History routing for the single-page app: the server answers every non-API path with
// index.html, and this picks the page. Each page returns a cleanup that closes its
// sockets and timers when the learner navigates away.

export type Cleanup = () => void;
export type Page = (root: HTMLElement, params: Record<string, string>) => Cleanup | void;

interface Route {
  pattern: RegExp;
  keys: string[];
  page: Page;
}

const routes: Route[] = [];
let current: Cleanup | void;
let root: HTMLElement;

export function route(path: string, page: Page): void {
  const keys: string[] = [];
  const pattern = new RegExp(
    "^" + path.replace(/:(\w+)/g, (_, key) => (keys.push(key), "([^/]+)")) + "/?$",
  );
  routes.push({ pattern, keys, page });
}

export function navigate(path: string, replace = false): void {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  render();
}

function render(): void {
  if (typeof current === "function") current();
  current = undefined;
  root.replaceChildren();
  window.scrollTo(0, 0);
  for (const r of routes) {
    const m = r.pattern.exec(location.pathname);
    if (m) {
      const params = Object.fromEntries(r.keys.map((k, i) => [k, decodeURIComponent(m[i + 1])]));
      current = r.page(root, params);
      return;
    }
  }
  current = routes.find((r) => r.keys.length === 0 && r.pattern.test("/404"))?.page(root, {});
}

export function start(el: HTMLElement): void {
  root = el;
  // Same-origin links navigate inside the app; modified clicks keep their browser meaning.
  document.addEventListener("click", (event) => {
    const a = (event.target as Element).closest?.("a");
    if (!a || a.target || a.hasAttribute("download") || event.defaultPrevented) return;
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith("/api/")) return;
    event.preventDefault();
    if (url.pathname + url.search !== location.pathname + location.search) navigate(url.pathname + url.search);
  });
  window.addEventListener("popstate", render);
  render();
}
