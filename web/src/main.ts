// Entry point of the playlab web UI: the pages behind history routing (catalog,
// lesson, dashboard and class roster, a learner's class join and class page).
import "./styles.css";
import { h } from "./dom";
import { frame, notice } from "./layout";
import { route, start } from "./router";
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
  frame(root, {}).append(
    notice("Page not found", `Nothing lives at ${location.pathname}.`,
      h("a", { href: "/", class: "btn btn-primary" }, "Back to the lessons")),
  );
});

start(document.getElementById("app")!);
