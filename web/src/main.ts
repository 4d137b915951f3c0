//! Entry point of the playlab web UI.
import "./styles.css";
document.getElementById("app")!.textContent = "playlab";
