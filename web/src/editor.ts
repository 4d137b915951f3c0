// The Editor tab of a node: a file tree from the lesson's editor root and a CodeMirror
// editor, reading and saving through the server's files API (which runs on the node
// through the backend: no SSH, no daemon in the image). Loaded on first use, so the
// lesson page does not carry CodeMirror until a learner opens an editor.
//
// A save names the version (a hash) of the file it was opened at; the server writes
// only if the file on the node is still that version, so a change made in the
// terminal meanwhile is never overwritten silently: the learner is told and chooses.

import { basicSetup } from "codemirror";
import { EditorView, keymap } from "@codemirror/view";
import { Compartment, EditorState, type Extension } from "@codemirror/state";
import { StreamLanguage } from "@codemirror/language";
import { yaml } from "@codemirror/lang-yaml";
import { json } from "@codemirror/lang-json";
import { python } from "@codemirror/lang-python";
import { go } from "@codemirror/lang-go";
import { shell } from "@codemirror/legacy-modes/mode/shell";
import { oneDark } from "@codemirror/theme-one-dark";
import { api, ApiError, errorText, filesUrl, withLang, type DirEntry, type EditorSettings } from "./api";
import { h, icon, replace, toast } from "./dom";
import { formatBytes, formatTimeOfDay, t } from "./i18n";
import { effectiveTheme, onThemeChange } from "./theme";

/** CodeMirror's colours for the app's theme (its own are light). */
const colours = (theme: "light" | "dark"): Extension => (theme === "dark" ? oneDark : []);

/** The syntax of a file, by its name (and a shell script's first line). */
function language(path: string, content: string): Extension {
  const name = path.split("/").pop() ?? "";
  if (/\.ya?ml$/i.test(name)) return yaml();
  if (/\.json$/i.test(name)) return json();
  if (/\.py$/i.test(name) || /^#!.*python/.test(content)) return python();
  if (/\.go$/i.test(name)) return go();
  if (/\.(sh|bash)$/i.test(name) || /^\.?(bashrc|profile|bash_profile)$/.test(name) || /^#!.*\b(ba)?sh\b/.test(content)) {
    return StreamLanguage.define(shell);
  }
  return [];
}

/** `child` of folder `dir`, as a path. */
function join(dir: string, child: string): string {
  return `${dir.replace(/\/$/, "")}/${child}`;
}

/** The file open in the editor: where it is and the version it was read at. */
interface OpenFile {
  path: string;
  version: string;
}

export class NodeEditor {
  readonly element: HTMLElement;
  private readonly tree = h("ul", { class: "file-tree", role: "tree", "aria-label": t("editor.files") });
  private readonly pathEl = h("span", { class: "editor-path", "data-testid": "editor-path" });
  private readonly statusEl = h("span", { class: "editor-status", role: "status", "data-testid": "editor-status" });
  private readonly saveButton = h("button", { type: "button", class: "btn btn-small btn-primary", "data-testid": "editor-save", disabled: true }, t("editor.save"));
  private readonly download = h("a", { class: "btn btn-small", "data-testid": "editor-download", hidden: true }, t("editor.download"));
  private readonly surface = h("div", { class: "editor-surface" });
  private readonly syntax = new Compartment();
  private readonly theme = new Compartment();
  private readonly unsubscribe = onThemeChange((theme) =>
    this.view?.dispatch({ effects: this.theme.reconfigure(colours(theme)) }));
  private view: EditorView | null = null;
  private file: OpenFile | null = null;
  private saved = "";
  private loaded = false;

  constructor(private readonly session: string, readonly node: string, private readonly settings: EditorSettings) {
    const upload = h("input", { type: "file", class: "file-input", "data-testid": "editor-upload" });
    upload.addEventListener("change", () => {
      const file = upload.files?.[0];
      if (file) this.upload(file).finally(() => (upload.value = ""));
    });
    this.saveButton.addEventListener("click", () => this.save());
    this.element = h("div", { class: "editor", "data-node": node },
      h("nav", { class: "editor-side" },
        h("div", { class: "editor-side-head" },
          h("span", { class: "editor-root", title: settings.root }, settings.root),
          h("label", { class: "btn btn-small btn-ghost", title: t("editor.uploadTitle", settings.root) }, t("editor.upload"), upload)),
        this.tree),
      h("div", { class: "editor-main" },
        h("div", { class: "editor-bar" }, this.pathEl, this.statusEl, this.download, this.saveButton),
        this.surface));
    this.surface.append(h("p", { class: "editor-empty muted" }, t("editor.pickFile")));
  }

  dispose(): void {
    this.unsubscribe();
    this.view?.destroy();
  }

  /** Lists the root the first time the tab is shown. */
  show(): void {
    if (this.loaded) return;
    this.loaded = true;
    this.listInto(this.tree, this.settings.root);
  }

  private async listInto(list: HTMLElement, dir: string): Promise<void> {
    replace(list, h("li", { class: "muted" }, t("editor.loading")));
    try {
      const answer = await api.file(this.session, this.node, dir);
      if (answer.kind !== "dir") throw new Error(t("editor.notAFolder", dir));
      replace(list, ...answer.entries.map((entry) => this.entry(dir, entry)),
        answer.truncated ? h("li", { class: "muted" }, t("editor.truncated")) : null);
    } catch (e) {
      replace(list, h("li", { class: "file-error" }, errorText(e)));
    }
  }

  private entry(dir: string, entry: DirEntry): HTMLElement {
    const path = join(dir, entry.name);
    if (entry.kind === "dir") {
      const children = h("ul", { role: "group", hidden: true });
      const button = h("button", { type: "button", class: "file-dir", "aria-expanded": "false", "data-path": path }, entry.name + "/");
      button.addEventListener("click", () => {
        const open = children.hidden;
        children.hidden = !open;
        button.setAttribute("aria-expanded", String(open));
        if (open) this.listInto(children, path);
      });
      return h("li", { role: "treeitem" }, button, children);
    }
    return h("li", { role: "treeitem" },
      h("button", {
        type: "button", class: "file-leaf", "data-path": path, title: formatBytes(entry.size),
        onclick: () => this.open(path),
      }, entry.name));
  }

  /** Opens `path`, asking first when the open file has unsaved changes. */
  async open(path: string): Promise<void> {
    if (this.dirty() && !confirm(t("editor.discard", this.file!.path))) return;
    this.status(t("editor.loading"));
    let answer;
    try {
      answer = await api.file(this.session, this.node, path);
    } catch (e) {
      // Binary, too large, outside the root: said where the file would be.
      this.status("");
      replace(this.surface, h("p", { class: "editor-refused", "data-testid": "editor-refused" }, errorText(e)));
      this.file = null;
      this.view = null;
      this.bar();
      return;
    }
    if (answer.kind !== "file") return this.status(t("editor.notAFile", path));
    this.file = { path: answer.path, version: answer.version };
    this.saved = answer.content;
    this.view?.destroy();
    this.surface.replaceChildren();
    this.view = new EditorView({
      parent: this.surface,
      state: EditorState.create({
        doc: answer.content,
        extensions: [
          basicSetup,
          this.syntax.of(language(answer.path, answer.content)),
          this.theme.of(colours(effectiveTheme())),
          keymap.of([{ key: "Mod-s", preventDefault: true, run: () => (this.save(), true) }]),
          EditorView.updateListener.of((update) => update.docChanged && this.bar()),
        ],
      }),
    });
    this.status(t("editor.opened", formatBytes(answer.size)));
    this.bar();
  }

  private dirty(): boolean {
    return this.view !== null && this.view.state.doc.toString() !== this.saved;
  }

  private bar(): void {
    this.pathEl.textContent = this.file?.path ?? "";
    this.saveButton.disabled = !this.file || !this.dirty();
    this.saveButton.textContent = this.dirty() ? t("editor.save") : t("editor.saved");
    this.download.hidden = !this.file;
    if (this.file) this.download.href = withLang(filesUrl(this.session, this.node, "/download", this.file.path));
  }

  private status(text: string, kind: "" | "error" | "ok" = ""): void {
    this.statusEl.textContent = text;
    this.statusEl.dataset.kind = kind;
  }

  /** Saves the editor's text if the file is still the version it was opened at;
   *  `over` saves over a version changed on disk, which the learner chose to do. */
  async save(over?: string): Promise<void> {
    if (!this.file || !this.view) return;
    const content = this.view.state.doc.toString();
    this.saveButton.disabled = true;
    try {
      const { version } = await api.saveFile(this.session, this.node, this.file.path, content, over ?? this.file.version);
      this.file.version = version;
      this.saved = content;
      this.status(t("editor.savedAt", formatTimeOfDay(new Date())), "ok");
    } catch (e) {
      if (e instanceof ApiError && e.code === "changed_on_disk") return this.conflict();
      this.status(errorText(e), "error");
    } finally {
      this.bar();
    }
  }

  /** The file changed on the node since it was opened: reload it, or save over it. */
  private conflict(): void {
    const file = this.file!;
    const reload = h("button", { type: "button", class: "btn btn-small", "data-testid": "editor-reload" }, t("editor.reload"));
    const overwrite = h("button", { type: "button", class: "btn btn-small btn-warn", "data-testid": "editor-overwrite" }, t("editor.overwrite"));
    const box = h("div", { class: "editor-conflict", role: "alert", "data-testid": "editor-conflict" },
      icon("alert"), h("span", null, t("editor.changedOnDisk", file.path)), reload, overwrite);
    this.status("");
    this.surface.prepend(box);
    reload.addEventListener("click", () => {
      this.saved = this.view?.state.doc.toString() ?? "";
      this.open(file.path);
    });
    overwrite.addEventListener("click", async () => {
      box.remove();
      try {
        const now = await api.file(this.session, this.node, file.path);
        if (now.kind === "file") await this.save(now.version);
      } catch (e) {
        this.status(errorText(e), "error");
      }
    });
  }

  private async upload(file: File): Promise<void> {
    const dir = this.file ? this.file.path.replace(/\/[^/]*$/, "") || "/" : this.settings.root;
    const path = join(dir, file.name);
    try {
      await api.uploadFile(this.session, this.node, path, file);
      toast(t("editor.uploaded", path), "success");
      this.listInto(this.tree, this.settings.root);
    } catch (e) {
      toast(errorText(e), "error");
    }
  }
}
