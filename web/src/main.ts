// Entry point of the playlab web UI: the three pages behind history routing.
import "./styles.css";
import { h } from "./dom";
import { frame, notice } from "./layout";
import { route, start } from "./router";
import { catalogPage } from "./pages/catalog";
import { lessonPage } from "./pages/lesson";
import { dashboardPage } from "./pages/dashboard";

route("/", catalogPage);
route("/lessons/:id", lessonPage);
route("/dashboard", dashboardPage);
route("/404", (root) => {
  frame(root, {}).append(
    notice("Page not found", `Nothing lives at ${location.pathname}.`,
      h("a", { href: "/", class: "btn btn-primary" }, "Back to the lessons")),
  );
});

start(document.getElementById("app")!);
