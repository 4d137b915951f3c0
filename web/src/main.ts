// Entry point of the playlab web UI: the pages behind history routing (catalog,
// lesson, dashboard and class roster, a learner's class join and class page).
import "./styles.css";
import { h } from "./dom";
import { onLanguageChange, t } from "./i18n";
import { frame, notice, pageTitle } from "./layout";
import { navigate, route, start } from "./router";
import { catalogPage } from "./pages/catalog";
import { lessonPage } from "./pages/lesson";
import { dashboardPage } from "./pages/dashboard";
import { rosterPage } from "./pages/classes";
import { classPage } from "./pages/classroom";
import { joinClassPage } from "./pages/join";

route("/", catalogPage);
route("/lessons/:id", lessonPage);
route("/dashboard", dashboardPage);
route("/dashboard/classes/:id", rosterPage);
route("/join", joinClassPage);
route("/class", classPage);
route("/404", (root) => {
  pageTitle(t("notFound.title"));
  frame(root, {}).append(
    notice(t("notFound.title"), t("notFound.body", location.pathname),
      h("a", { href: "/", class: "btn btn-primary" }, t("common.backToLessons"))),
  );
});

/** The words of index.html itself (outside the pages). */
function translateShell(): void {
  document.querySelector(".skip-link")!.textContent = t("layout.skip");
}

translateShell();
// A switch of language shows the page again, its lesson text fetched anew in it.
onLanguageChange(() => {
  translateShell();
  navigate(location.pathname + location.search, true);
});
start(document.getElementById("app")!);
