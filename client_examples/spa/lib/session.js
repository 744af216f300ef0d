// Who is signed in: the token (kept in localStorage, so reloads and other tabs stay signed in), the user,
// and the one live connection (graphql-transport-ws) the pages subscribe through.
//
// Events: "change" (signed in, out, or the user changed), "expired" (the server refused the token;
// detail.message says why), "live" (the connection's state, for the indicator).

import { request } from "./graphql.js";
import { SubscriptionClient, websocketURL } from "./ws.js";

const TOKEN_KEY = "aibt.token";
export const USER_FIELDS = "id email displayName avatarUrl role";
const ME = `{ me { ${USER_FIELDS} } }`;
const LOGOUT = "mutation { logout }";

class Session extends EventTarget {
  constructor() {
    super();
    this.token = localStorage.getItem(TOKEN_KEY);
    this.user = null;
    this.live = null;
    this.liveState = { status: "idle", detail: "" };
    this.notice = ""; // why the user has to sign in again, for the sign-in page
    window.addEventListener("storage", (event) => this.#storageChanged(event));
  }

  get signedIn() {
    return Boolean(this.token && this.user);
  }

  get isAdmin() {
    return Boolean(this.user && this.user.role === "ADMIN");
  }

  /** Signs in again with the stored token, if any; false when there is none or it no longer works. */
  async restore() {
    if (!this.token) return false;
    try {
      const { me } = await request(ME, {}, this.token);
      if (me) {
        this.begin(this.token, me);
        return true;
      }
      this.expire("Your session has expired or was ended; please sign in again.");
    } catch (error) {
      if (error.code !== "UNAUTHENTICATED") throw error;
      this.expire(error.message);
    }
    return false;
  }

  begin(token, user) {
    this.#store(token);
    this.user = user;
    this.#restartLive();
    this.#emit("change");
  }

  /** A new token for the same user (after a password change): live streams reconnect with it. */
  replaceToken(token) {
    this.#store(token);
    if (this.live) this.live.reconnect();
  }

  updateUser(user) {
    this.user = { ...this.user, ...user };
    this.#emit("change");
  }

  async signOut() {
    if (this.token) {
      try {
        await request(LOGOUT, {}, this.token);
      } catch {
        // The token is dropped either way.
      }
    }
    this.#end();
  }

  /** The server refused the token (expired, revoked, outdated): drop it; the app asks to sign in again. */
  expire(message) {
    this.notice = `Signed out: ${message || "please sign in again."}`;
    this.#end();
    this.#emit("expired", { message });
  }

  #end() {
    if (this.live) this.live.dispose();
    this.live = null;
    this.user = null;
    this.#store(null);
    this.#setLiveState("idle", "");
    this.#emit("change");
  }

  #restartLive() {
    if (this.live) this.live.dispose();
    this.live = new SubscriptionClient({
      url: websocketURL(),
      connectionParams: () => ({ authorization: `Bearer ${this.token}` }),
      // "closed" with no reason is the normal end: nothing is being followed.
      onState: (status, detail) => this.#setLiveState(status === "closed" && !detail ? "idle" : status, detail || ""),
    });
  }

  #setLiveState(status, detail) {
    this.liveState = { status, detail };
    this.#emit("live", this.liveState);
  }

  #store(token) {
    this.token = token;
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  }

  #storageChanged(event) {
    if (event.key !== TOKEN_KEY || event.newValue === this.token) return;
    if (!event.newValue) {
      if (this.user) this.expire("You signed out in another tab.");
      return;
    }
    this.token = event.newValue; // signed in again, or a new password, in another tab
    if (this.live) this.live.reconnect();
  }

  #emit(type, detail = null) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

export const session = new Session();
