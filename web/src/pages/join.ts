// With `--auth code` a learner enters the instructor's join code once; the server then
// sets the identity cookie. Pages that need a learner call `ensureLearner` first. A
// class's code admits a learner too (`/join`), with the name their instructor sees.

import { api, errorText } from "../api";
import { h } from "../dom";
import { t } from "../i18n";
import { frame, notice, pageTitle } from "../layout";
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
      h("label", { for: "join-code" }, t("common.joinCode")), input,
      h("button", { type: "submit", class: "btn btn-primary" }, t("common.join")), error);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await api.join(input.value.trim());
        resolve();
      } catch (e) {
        error.textContent = errorText(e);
      }
    });
    main.replaceChildren(notice(t("join.title"), t("join.lead"), form));
    input.focus();
  });
  main.replaceChildren();
}

/** `/join?code=`: a learner joins a class with its code and a display name. */
export function joinClassPage(root: HTMLElement): void {
  pageTitle(t("classJoin.title"));
  const main = frame(root, {});
  const code = h("input", {
    id: "class-code", name: "code", class: "input", autocomplete: "off", required: true,
    value: new URLSearchParams(location.search).get("code") ?? "",
  });
  const name = h("input", { id: "display-name", name: "name", class: "input", autocomplete: "nickname", required: true, maxlength: 40 });
  const error = h("p", { id: "class-join-error", class: "form-error", role: "alert" });
  const form = h("form", { class: "join-form class-join" },
    h("label", { for: "class-code" }, t("common.joinCode")), code,
    h("label", { for: "display-name" }, t("classJoin.name")), name,
    h("button", { type: "submit", class: "btn btn-primary" }, t("common.join")), error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api.joinClass(code.value, name.value);
      navigate("/class");
    } catch (e) {
      error.textContent = errorText(e);
    }
  });
  main.replaceChildren(notice(t("classJoin.title"), t("classJoin.lead"), form));
  (code.value ? name : code).focus();
  // Someone already in a class is offered the way back to it.
  api.myClass().then((mine) => {
    form.before(h("p", null, t("classJoin.already", mine.name), " ", h("a", { href: "/class" }, t("classJoin.toClass"))));
  }).catch(() => {});
}
