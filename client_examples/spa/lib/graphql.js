// GraphQL over HTTP (same origin): one function, and an error type that keeps extensions.code.

export const GRAPHQL_PATH = "/graphql";

/** What a client can show: the server's message and its extensions.code. */
export class GraphQLError extends Error {
  constructor(message, code = "INTERNAL", extensions = {}) {
    super(message);
    this.name = "GraphQLError";
    this.code = code;
    this.extensions = extensions;
  }
}

/** Wraps the errors of a GraphQL response (HTTP `errors` or a websocket `error` payload). */
export function errorFrom(errors) {
  const first = (Array.isArray(errors) ? errors[0] : errors) || {};
  const extensions = first.extensions || {};
  return new GraphQLError(first.message || "The server refused the request.", extensions.code || "INTERNAL", extensions);
}

/** Runs a query or mutation; resolves to `data`, rejects with a GraphQLError. */
export async function request(query, variables = {}, token = null) {
  const headers = { "Content-Type": "application/json", Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(GRAPHQL_PATH, { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  } catch {
    throw new GraphQLError("The server cannot be reached. Check your connection and try again.", "UNAVAILABLE");
  }
  let body;
  try {
    body = await response.json();
  } catch {
    const requestId = response.headers.get("x-request-id");
    throw new GraphQLError(`The server answered ${response.status} ${response.statusText}.`, "INTERNAL", { requestId });
  }
  if (body.errors && body.errors.length) throw errorFrom(body.errors);
  return body.data;
}

/** One line for a person: the server's message (written for clients), its code and the request id to
 * quote when reporting it, e.g. "endDate must not be before startDate. (BAD_USER_INPUT · request 3f2a…)". */
export function describeError(error) {
  if (error instanceof GraphQLError) {
    let text = error.message;
    if (error.code === "RATE_LIMITED" && error.extensions.retryAfterSeconds) {
      text += ` Try again in ${error.extensions.retryAfterSeconds} s.`;
    }
    const requestId = error.extensions.requestId;
    return `${text} (${error.code}${requestId ? ` · request ${requestId}` : ""})`;
  }
  return `Something went wrong: ${error && error.message ? error.message : error}`;
}
