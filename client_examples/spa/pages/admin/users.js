// Every user, and their role (the last admin cannot be demoted: the API refuses it).

import { api } from "../../lib/api.js";
import { h, section, table } from "../../lib/dom.js";
import { dateTime } from "../../lib/format.js";
import { select } from "../../lib/forms.js";
import { session } from "../../lib/session.js";
import { cursorPager, errorBox, showError } from "../../lib/ui.js";

const USERS = `query($after: String) { users(first: 25, after: $after) { totalCount pageInfo { hasNextPage endCursor }
  edges { node { id email displayName role createdAt } } } }`;
const SET_ROLE = "mutation($id: ID!, $role: Role!) { setUserRole(userId: $id, role: $role) { id role } }";

export async function render(view) {
  const problem = errorBox();
  const body = h("div");

  function roleSelect(user) {
    const control = select({ name: "role", "aria-label": `Role of ${user.email}` }, [["USER", "User"], ["ADMIN", "Admin"]], user.role);
    control.addEventListener("change", async () => {
      try {
        await api(SET_ROLE, { id: user.id, role: control.value });
        user.role = control.value;
        showError(problem, null);
      } catch (error) {
        control.value = user.role;
        showError(problem, error);
      }
    });
    return control;
  }

  const pager = cursorPager({
    name: "users",
    load: async (after) => (await api(USERS, { after })).users,
    show(connection) {
      body.replaceChildren(table("Users", [["Email"], ["Display name"], ["Role"], ["Joined"]],
        connection.edges.map(({ node }) => h("tr", {},
          h("th", { scope: "row" }, node.email, node.id === session.user.id ? h("span", { class: "muted" }, " (you)") : null),
          h("td", {}, node.displayName || "—"),
          h("td", {}, roleSelect(node)),
          h("td", {}, dateTime(node.createdAt))))));
    },
  });
  view.append(section("Users and roles", problem, body, pager.nav));
  await pager.first().catch((error) => showError(problem, error));
}
