// A small graphql-transport-ws client: one socket, many subscriptions, ping/pong, and reconnection.
//
// Protocol (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md): the client sends
// connection_init with its payload and waits for connection_ack; then `subscribe` {id, payload},
// the server answers `next`* then `complete` (or `error`); either side may `ping`, the other `pong`s.
// After an unexpected close the client reconnects with backoff and subscribes again, asking each
// subscription for a fresh payload, so a caller can resume with afterSeq (see followEvents).

import { errorFrom, GraphQLError } from "./graphql.js";

export const PROTOCOL = "graphql-transport-ws";
// Close codes the server uses to refuse; reconnecting would be refused again.
const FATAL_CLOSE = { 4400: "Bad request", 4401: "Unauthorized", 4403: "Forbidden",
  4406: "Subprotocol not acceptable", 4409: "Subscriber already exists", 4429: "Too many initialisation requests" };

export function websocketURL(path = "/graphql") {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}`;
}

export class SubscriptionClient {
  /**
   * @param {object} options
   * @param {string} options.url               ws:// or wss:// URL
   * @param {() => object} options.connectionParams  connection_init payload, read at each connect
   * @param {(state: string, detail?: string) => void} [options.onState]  "connecting" | "open" | "reconnecting" | "closed"
   */
  constructor({ url, connectionParams, onState = () => {}, retryDelaysMs = [500, 1000, 2000, 4000, 8000],
                keepAliveMs = 15000, ackTimeoutMs = 10000 }) {
    this.url = url;
    this.connectionParams = connectionParams;
    this.onState = onState;
    this.retryDelaysMs = retryDelaysMs;
    this.keepAliveMs = keepAliveMs;
    this.ackTimeoutMs = ackTimeoutMs;
    this.subscriptions = new Map(); // id -> {payload: () => {query, variables}, sink}
    this.socket = null;
    this.acknowledged = false;
    this.attempt = 0;
    this.nextId = 1;
    this.timers = {};
    this.disposed = false;
  }

  /**
   * Subscribes; `payload` is a function called at each (re)subscribe. `sink` has next(data),
   * error(GraphQLError) and complete(). Returns a function that ends the subscription.
   */
  subscribe(payload, sink) {
    const id = String(this.nextId++);
    this.subscriptions.set(id, { payload, sink });
    if (this.socket && this.acknowledged) this.#send({ id, type: "subscribe", payload: payload() });
    else this.#connect();
    return () => {
      if (!this.subscriptions.delete(id)) return;
      if (this.acknowledged) this.#send({ id, type: "complete" });
      this.#closeWhenIdle();
    };
  }

  /** Reconnects at once (e.g. with a new token): every subscription is sent again on the new connection,
   * so followEvents resumes after the last event it saw. */
  reconnect() {
    const socket = this.socket;
    if (!socket) return;
    this.socket = null;
    this.acknowledged = false;
    this.#clearTimers();
    socket.onclose = null;
    socket.close(1000, "Reconnecting");
    if (this.subscriptions.size) this.#connect();
  }

  /** Ends every subscription and closes the socket for good. */
  dispose() {
    this.disposed = true;
    this.subscriptions.clear();
    this.#clearTimers();
    if (this.socket) this.socket.close(1000, "Normal Closure");
    this.socket = null;
  }

  #connect() {
    if (this.socket || this.disposed) return;
    this.onState(this.attempt ? "reconnecting" : "connecting");
    const socket = new WebSocket(this.url, PROTOCOL);
    this.socket = socket;
    this.acknowledged = false;
    socket.onopen = () => {
      this.#send({ type: "connection_init", payload: this.connectionParams() });
      this.timers.ack = setTimeout(() => socket.close(4504, "Connection acknowledgement timeout"), this.ackTimeoutMs);
    };
    socket.onmessage = (event) => this.#receive(socket, event.data);
    socket.onclose = (event) => this.#closed(socket, event);
  }

  #receive(socket, raw) {
    let message;
    try {
      message = JSON.parse(raw);
    } catch {
      socket.close(4400, "Invalid message");
      return;
    }
    const subscription = message.id ? this.subscriptions.get(message.id) : null;
    switch (message.type) {
      case "connection_ack":
        clearTimeout(this.timers.ack);
        this.acknowledged = true;
        this.attempt = 0;
        this.onState("open");
        for (const [id, sub] of this.subscriptions) this.#send({ id, type: "subscribe", payload: sub.payload() });
        this.#keepAlive();
        break;
      case "ping":
        this.#send({ type: "pong", ...(message.payload ? { payload: message.payload } : {}) });
        break;
      case "pong":
        clearTimeout(this.timers.pong);
        break;
      case "next":
        if (!subscription) break;
        if (message.payload.errors && message.payload.errors.length) {
          this.subscriptions.delete(message.id);
          this.#send({ id: message.id, type: "complete" });
          subscription.sink.error(errorFrom(message.payload.errors));
          this.#closeWhenIdle();
        } else {
          subscription.sink.next(message.payload.data);
        }
        break;
      case "error":
        if (!subscription) break;
        this.subscriptions.delete(message.id);
        subscription.sink.error(errorFrom(message.payload));
        this.#closeWhenIdle();
        break;
      case "complete":
        if (!subscription) break;
        this.subscriptions.delete(message.id);
        subscription.sink.complete();
        this.#closeWhenIdle();
        break;
      default:
        socket.close(4400, `Unexpected message type ${message.type}`);
    }
  }

  #closed(socket, event) {
    if (socket !== this.socket) return;
    this.socket = null;
    this.acknowledged = false;
    this.#clearTimers();
    if (this.disposed || this.subscriptions.size === 0) {
      this.onState("closed");
      return;
    }
    if (FATAL_CLOSE[event.code]) {
      const error = new GraphQLError(
        event.code === 4403 ? "The server refused the live connection: sign in again." : `${FATAL_CLOSE[event.code]}: ${event.reason}`,
        event.code === 4403 ? "UNAUTHENTICATED" : "INTERNAL");
      const subs = [...this.subscriptions.values()];
      this.subscriptions.clear();
      this.onState("closed", error.message);
      for (const sub of subs) sub.sink.error(error);
      return;
    }
    const delay = this.retryDelaysMs[Math.min(this.attempt, this.retryDelaysMs.length - 1)];
    this.attempt += 1;
    this.onState("reconnecting", `Connection lost; reconnecting in ${(delay / 1000).toFixed(1)} s`);
    this.timers.retry = setTimeout(() => this.#connect(), delay);
  }

  #keepAlive() {
    clearInterval(this.timers.keepAlive);
    this.timers.keepAlive = setInterval(() => {
      this.#send({ type: "ping" });
      clearTimeout(this.timers.pong);
      const socket = this.socket;
      this.timers.pong = setTimeout(() => socket && socket.close(4408, "No pong"), this.ackTimeoutMs);
    }, this.keepAliveMs);
  }

  #closeWhenIdle() {
    if (this.subscriptions.size === 0 && this.socket) this.socket.close(1000, "Normal Closure");
  }

  #clearTimers() {
    clearTimeout(this.timers.ack);
    clearTimeout(this.timers.pong);
    clearTimeout(this.timers.retry);
    clearInterval(this.timers.keepAlive);
  }

  #send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }
}

/**
 * Follows a stream of events that carry a strictly increasing `seq` (runEvents, chatEvents).
 * Subscribes with afterSeq, and on every reconnect resumes after the last event seen, so nothing is
 * missed and nothing is seen twice. Returns a function that stops following.
 */
export function followEvents(client, { query, field, variables, afterSeq = 0, onEvent, onError = () => {}, onComplete = () => {} }) {
  let lastSeq = afterSeq;
  return client.subscribe(
    () => ({ query, variables: { ...variables, afterSeq: lastSeq } }),
    {
      next(data) {
        const event = data[field];
        if (event.seq <= lastSeq) return; // already seen
        lastSeq = event.seq;
        onEvent(event);
      },
      error: onError,
      complete: onComplete,
    });
}
