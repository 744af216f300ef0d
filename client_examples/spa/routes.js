// Every page of the app, by URL. A new page is one line here (and one in NAV to be in the menu).

export const ROUTES = [
  { path: "/", redirect: "/models" },
  { path: "/signin", load: () => import("./pages/signin.js"), title: "Sign in", access: "public" },
  { path: "/models", load: () => import("./pages/models.js"), title: "Models" },
  { path: "/models/new", load: () => import("./pages/model_edit.js"), title: "New model" },
  { path: "/models/:id", load: () => import("./pages/model.js"), title: "Model" },
  { path: "/models/:id/edit", load: () => import("./pages/model_edit.js"), title: "Edit model" },
  { path: "/runs/:id", load: () => import("./pages/run.js"), title: "Run" },
  { path: "/arenas", load: () => import("./pages/arenas.js"), title: "Arenas" },
  { path: "/arenas/:id", load: () => import("./pages/arena.js"), title: "Arena" },
  { path: "/chat", load: () => import("./pages/chat.js"), title: "Analyst" },
  { path: "/chat/:id", load: () => import("./pages/chat.js"), title: "Analyst" },
  { path: "/profile", load: () => import("./pages/profile.js"), title: "Profile" },
  { path: "/admin", redirect: "/admin/users" },
  { path: "/admin/:section", load: () => import("./pages/admin/index.js"), title: "Admin", access: "admin" },
];

export const NOT_FOUND = { path: "*", load: () => import("./pages/not_found.js"), title: "Not found" };
export const FORBIDDEN = { path: "*", load: () => import("./pages/forbidden.js"), title: "Admins only" };

/** The main menu: [path, label, who sees it]. */
export const NAV = [
  ["/models", "Models", "user"],
  ["/arenas", "Arenas", "user"],
  ["/chat", "Analyst", "user"],
  ["/admin", "Admin", "admin"],
];
