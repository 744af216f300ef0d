// Lets a page go elsewhere without holding the router: app.js hands the router over at start.

let router = null;

export function useRouter(instance) {
  router = instance;
}

/** Goes to a path inside the app, e.g. navigate("/runs/abc"); replace keeps the history entry count. */
export function navigate(path, options = {}) {
  return router.navigate(path, options);
}
