// With `--auth code` a learner enters the instructor's join code once; the server then
// sets the identity cookie. Pages that need a learner call `ensureLearner` first. A
// class's code admits a learner too (`/join`), with the name their instructor sees.

import { api, ApiError } from "../api";
import { h } from "../dom";
import { frame, notice } from "../layout";
import { navigate } from "../router";

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

/** Every string the class join page shows. */
const T = {
  title: "Join your class",
  lead: "Enter the join code your instructor gave you and the name they will see.",
  code: "Join code",
  name: "Your name",
  join: "Join",
  already: (name: string) => `You are in the class ${name}.`,
  toClass: "Go to your class",
};

/** `/join?code=`: a learner joins a class with its code and a display name. */
export function joinClassPage(root: HTMLElement): void {
  document.title = `${T.title} · playlab`;
  const main = frame(root, {});
  const code = h("input", {
    id: "class-code", name: "code", class: "input", autocomplete: "off", required: true,
    value: new URLSearchParams(location.search).get("code") ?? "",
  });
  const name = h("input", { id: "display-name", name: "name", class: "input", autocomplete: "nickname", required: true, maxlength: 40 });
  const error = h("p", { id: "class-join-error", class: "form-error", role: "alert" });
  const form = h("form", { class: "join-form class-join" },
    h("label", { for: "class-code" }, T.code), code,
    h("label", { for: "display-name" }, T.name), name,
    h("button", { type: "submit", class: "btn btn-primary" }, T.join), error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api.joinClass(code.value, name.value);
      navigate("/class");
    } catch (e) {
      error.textContent = e instanceof ApiError ? e.message : String(e);
    }
  });
  main.replaceChildren(notice(T.title, T.lead, form));
  (code.value ? name : code).focus();
  // Someone already in a class is offered the way back to it.
  api.myClass().then((mine) => {
    form.before(h("p", null, T.already(mine.name), " ", h("a", { href: "/class" }, T.toClass)));
  }).catch(() => {});
}
