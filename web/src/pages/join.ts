// With `--auth code` a learner enters the instructor's join code once; the server then
// sets the identity cookie. Pages that need a learner call `ensureLearner` first.

import { api, ApiError } from "../api";
import { h } from "../dom";
import { notice } from "../layout";

/** Resolves once the browser has a learner identity, showing the join form if needed. */
export async function ensureLearner(main: HTMLElement): Promise<void> {
  const me = await api.me();
  if (me.learner || me.auth === "open") return;
  await new Promise<void>((resolve) => {
    const input = h("input", {
      id: "join-code", name: "code", class: "input", autocomplete: "off", required: true,
      "aria-describedby": "join-error",
    });
    const error = h("p", { id: "join-error", class: "form-error", role: "alert" });
    const form = h("form", { class: "join-form" },
      h("label", { for: "join-code" }, "Join code"), input,
      h("button", { type: "submit", class: "btn btn-primary" }, "Join"), error);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await api.join(input.value.trim());
        resolve();
      } catch (e) {
        error.textContent = e instanceof ApiError ? e.message : String(e);
      }
    });
    main.replaceChildren(notice("Join the lab", "Enter the join code your instructor gave you.", form));
    input.focus();
  });
  main.replaceChildren();
}
