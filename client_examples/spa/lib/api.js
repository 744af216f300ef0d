// The pages' way to the API: queries and mutations over HTTP, subscriptions over the live connection,
// both with the session's token. A refused token ends the session wherever it is noticed.

import { request } from "./graphql.js";
import { session } from "./session.js";
import { followEvents } from "./ws.js";

function refusedToken(error, token) {
  return error && error.code === "UNAUTHENTICATED" && token && token === session.token;
}

/** Runs a query or mutation as the signed-in user; resolves to `data`, rejects with a GraphQLError. */
export async function api(query, variables = {}) {
  const token = session.token;
  try {
    return await request(query, variables, token);
  } catch (error) {
    if (refusedToken(error, token)) session.expire(error.message);
    throw error;
  }
}

/**
 * Follows runEvents or chatEvents from `afterSeq`, resuming after the last event seen on every
 * reconnect. Returns a function that stops following.
 */
export function follow({ query, field, variables, afterSeq = 0, onEvent, onError = () => {}, onComplete = () => {} }) {
  const token = session.token;
  if (!session.live) return () => {};
  return followEvents(session.live, {
    query, field, variables, afterSeq, onEvent, onComplete,
    onError(error) {
      if (refusedToken(error, token)) session.expire(error.message);
      onError(error);
    },
  });
}
