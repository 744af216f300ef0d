// The AIBT single-page app: the shell (menu, connection indicator, account) and the router.

import { h } from "./lib/dom.js";
import { useRouter } from "./lib/navigation.js";
import { Router } from "./lib/router.js";
import { session } from "./lib/session.js";
import { errorBox } from "./lib/ui.js";
import { FORBIDDEN, NAV, NOT_FOUND, ROUTES } from "./routes.js";

const LIVE_TEXT = { idle: "Idle", connecting: "Connecting…", open: "Live", reconnecting: "Reconnecting…", closed: "Offline" };

function guard(route, current) {
  if (route.access === "public") return null;
  if (!session.signedIn) return `/signin?next=${encodeURIComponent(current)}`;
  if (route.access === "admin" && !session.isAdmin) return FORBIDDEN;
  return null;
}

const router = new Router({
  routes: ROUTES,
  outlet: document.getElementById("main"),
  guard,
  notFound: NOT_FOUND,
  renderError: (view, error) => view.replaceChildren(h("h1", { tabindex: -1 }, "This page could not be shown"), errorBox(error)),
  afterRender: () => {
    markCurrentNav();
    const heading = document.querySelector("#main h1");
    if (heading && document.activeElement === document.body) heading.focus({ preventScroll: true });
  },
});

useRouter(router);

function markCurrentNav() {
  const path = location.pathname;
  document.querySelectorAll("#nav a").forEach((a) => {
    const here = path === a.pathname || path.startsWith(`${a.pathname}/`);
    if (here) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  });
}

function renderShell() {
  const user = session.user;
  const nav = document.getElementById("nav");
  const account = document.getElementById("session");
  nav.hidden = account.hidden = !user;
  if (!user) return;
  nav.replaceChildren(...NAV.filter(([, , who]) => who === "user" || session.isAdmin)
    .map(([path, text]) => h("a", { href: `/app${path}` }, text)));
  const avatar = document.getElementById("avatar");
  avatar.hidden = !user.avatarUrl;
  if (user.avatarUrl) avatar.src = user.avatarUrl;
  document.getElementById("session-name").textContent = user.displayName || user.email;
  document.getElementById("profile-link").setAttribute("aria-label", `Profile of ${user.displayName || user.email}`);
  markCurrentNav();
}

function renderLive({ status, detail }) {
  const indicator = document.getElementById("live-state");
  indicator.textContent = LIVE_TEXT[status] || status;
  indicator.dataset.state = status;
  indicator.title = detail || "";
  indicator.setAttribute("aria-label", `Live connection: ${LIVE_TEXT[status] || status}${detail ? `. ${detail}` : ""}`);
}

session.addEventListener("change", renderShell);
session.addEventListener("live", (event) => renderLive(event.detail));
session.addEventListener("expired", () => {
  const current = router.current;
  if (current.startsWith("/signin")) return;
  router.navigate(`/signin?next=${encodeURIComponent(current)}`, { replace: true });
});
document.getElementById("sign-out").addEventListener("click", async () => {
  await session.signOut();
  router.navigate("/signin");
});

renderLive(session.liveState);
try {
  await session.restore();
} catch (error) {
  session.notice = `The server could not be reached: ${error.message}`;
}
renderShell();
router.start();
