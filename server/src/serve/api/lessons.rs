//! The lesson bodies of the API: a catalog entry (`GET /api/lessons`) and a whole
//! lesson as its page loads it (`GET /api/lessons/{id}`), typed so that the fields the
//! web UI reads are spelt once. Quiz answers are never part of them. Both are built
//! from a lesson [`Localized`] into the language the request wants, and say which
//! language that is and which parts fell back to the lesson's own.

use scenarios::{Lesson, Localized, QuizItem, Step, WebPort};
use serde::Serialize;

use super::ports::{PortTemplates, open_template, url_template};
use crate::serve::config::Unavailable;
use crate::serve::content::render_page;

/// What a catalog entry and a lesson page have in common.
#[derive(Serialize)]
struct LessonHeader<'a> {
    id: &'a str,
    title: &'a str,
    description: &'a str,
    difficulty: Option<&'static str>,
    /// As text like `30m`.
    duration: Option<String>,
    tags: &'a [String],
    /// The language of the text served (a BCP 47 tag).
    lang: &'a str,
    /// Every language of the lesson, its own first: what `?lang=` may ask for.
    languages: &'a [String],
    /// The parts shown in the lesson's own language because the served language has
    /// no translation of them, as paths in `lesson.yaml` (`steps[1].text`).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    untranslated: &'a [String],
    /// The parts translated from an older version of their original.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    stale: &'a [String],
    /// Why the lesson cannot start on this server, when it cannot: the page shows it
    /// instead of a start button (in English; `unavailable_code` is what a client
    /// translates).
    #[serde(skip_serializing_if = "Option::is_none")]
    unavailable: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unavailable_code: Option<&'static str>,
    /// What a learner should know about how the lesson runs here (the importer's).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    notes: &'a [String],
}

impl<'a> LessonHeader<'a> {
    fn of(localized: &'a Localized, unavailable: Option<Unavailable>) -> LessonHeader<'a> {
        let lesson = &localized.lesson;
        LessonHeader {
            id: &lesson.id,
            title: &lesson.title,
            description: &lesson.description,
            difficulty: lesson.difficulty.map(|d| d.as_str()),
            duration: lesson
                .duration
                .map(|d| humantime::format_duration(d).to_string()),
            tags: &lesson.tags,
            lang: &lesson.language,
            languages: &localized.languages,
            untranslated: &localized.untranslated,
            stale: &localized.stale,
            unavailable_code: unavailable.as_ref().map(|u| u.code),
            unavailable: unavailable.map(|u| u.message),
            notes: &lesson.notes,
        }
    }
}

/// One lesson in the catalog.
#[derive(Serialize)]
pub struct LessonSummary<'a> {
    #[serde(flatten)]
    header: LessonHeader<'a>,
    /// How many steps.
    steps: usize,
}

impl<'a> LessonSummary<'a> {
    pub fn of(localized: &'a Localized, unavailable: Option<Unavailable>) -> LessonSummary<'a> {
        LessonSummary {
            header: LessonHeader::of(localized, unavailable),
            steps: localized.lesson.steps.len(),
        }
    }
}

/// A lesson with its pages rendered to HTML.
#[derive(Serialize)]
pub struct LessonDetail<'a> {
    #[serde(flatten)]
    header: LessonHeader<'a>,
    nodes: Vec<String>,
    /// The web ports the lesson declares, each a tab beside the terminals.
    ports: Vec<PortDetail<'a>>,
    /// Any port's addresses, for the Markdown's traffic links.
    traffic: PortTemplates,
    /// How the page arranges the tools: `terminal`, `editor-terminal` or `ide`, the
    /// names lesson files use.
    layout: &'static str,
    /// Where each node's editor tab opens, and whether it may leave that folder.
    editor: EditorDetail<'a>,
    steps: Vec<StepDetail<'a>>,
    intro_html: Option<String>,
    finish_html: Option<String>,
}

#[derive(Serialize)]
struct EditorDetail<'a> {
    root: &'a str,
    restricted: bool,
}

#[derive(Serialize)]
struct StepDetail<'a> {
    title: &'a str,
    html: String,
    /// Only a step with a hint carries the key: the page offers no hint without it.
    #[serde(skip_serializing_if = "Option::is_none")]
    hint_html: Option<String>,
    quiz: Vec<QuizQuestion<'a>>,
    /// How many checks (the checks themselves stay on the server).
    checks: usize,
}

/// A web port of the lesson, with two templates (`{session}` for the session's id):
/// `url`, its path-mode address (`/ports/{session}/web/8080/`), and `open`, where a
/// tab opens it in whichever mode the server serves (a redirect to its own host in
/// host mode, with a ticket that signs the browser in there).
#[derive(Serialize)]
struct PortDetail<'a> {
    node: &'a str,
    port: u16,
    title: &'a str,
    path: &'a str,
    url: String,
    open: String,
}

impl<'a> PortDetail<'a> {
    fn of(port: &'a WebPort) -> PortDetail<'a> {
        PortDetail {
            node: &port.node,
            port: port.port,
            title: &port.title,
            path: &port.path,
            url: url_template(&port.node, port.port, &port.path),
            open: open_template(&port.node, port.port, &port.path),
        }
    }
}

/// A quiz question without its answer; `multiple` tells the page to offer checkboxes.
#[derive(Serialize)]
struct QuizQuestion<'a> {
    question: &'a str,
    choices: &'a [String],
    multiple: bool,
}

impl<'a> LessonDetail<'a> {
    pub fn of(localized: &'a Localized, unavailable: Option<Unavailable>) -> LessonDetail<'a> {
        let lesson = &localized.lesson;
        let page = |markdown: &str| render_page(lesson, markdown);
        LessonDetail {
            header: LessonHeader::of(localized, unavailable),
            nodes: lesson.environment.node_names(),
            ports: lesson.ports.iter().map(PortDetail::of).collect(),
            traffic: PortTemplates::default(),
            layout: lesson.layout.as_str(),
            editor: EditorDetail {
                root: &lesson.editor.path,
                restricted: lesson.editor.restricted,
            },
            steps: lesson
                .steps
                .iter()
                .map(|step| StepDetail::of(lesson, step))
                .collect(),
            intro_html: lesson.intro.as_ref().map(|p| page(&p.markdown)),
            finish_html: lesson.finish.as_ref().map(|p| page(&p.markdown)),
        }
    }
}

impl<'a> StepDetail<'a> {
    fn of(lesson: &Lesson, step: &'a Step) -> StepDetail<'a> {
        StepDetail {
            title: &step.title,
            html: render_page(lesson, &step.text.markdown),
            hint_html: step.hint.as_ref().map(|h| render_page(lesson, &h.markdown)),
            quiz: step.quiz.iter().map(QuizQuestion::of).collect(),
            checks: step.checks.len(),
        }
    }
}

impl<'a> QuizQuestion<'a> {
    fn of(item: &'a QuizItem) -> QuizQuestion<'a> {
        QuizQuestion {
            question: &item.question,
            choices: &item.choices,
            multiple: item.answer.len() > 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::catalog::Catalog;

    fn demo() -> Localized {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/content");
        let (catalog, problems) =
            Catalog::load(&dir, &scenarios::ImageMap::builtin(false)).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        catalog.get("demo").unwrap().localized("en")
    }

    #[test]
    fn a_summary_counts_the_steps() {
        let lesson = demo();
        assert_eq!(
            serde_json::to_value(LessonSummary::of(&lesson, None)).unwrap(),
            json!({"id": "demo", "title": "Server test lesson",
                   "description": "Two plain Debian nodes, a file to create, and a quiz.",
                   "difficulty": "beginner", "duration": "5m", "tags": ["test"], "steps": 2,
                   "lang": "en", "languages": ["en"]})
        );
    }

    #[test]
    fn a_detail_renders_the_pages_and_keeps_the_answers() {
        let lesson = demo();
        let detail = serde_json::to_value(LessonDetail::of(&lesson, None)).unwrap();
        assert_eq!(detail["id"], "demo");
        assert_eq!(detail["duration"], "5m");
        assert_eq!(detail["nodes"], json!(["node01", "node02"]));
        assert_eq!(detail["layout"], "terminal");
        // Absent pages are `null`, not missing: the page tests for them.
        assert_eq!(detail.get("intro_html"), Some(&json!(null)));
        assert_eq!(detail.get("finish_html"), Some(&json!(null)));
        let steps = detail["steps"].as_array().unwrap();
        assert_eq!(steps[0]["title"], "Make a file");
        assert_eq!(steps[0]["checks"], 1);
        assert!(
            steps[0]["hint_html"]
                .as_str()
                .unwrap()
                .contains("<code>/tmp/done</code>")
        );
        assert!(steps[1].get("hint_html").is_none(), "{}", steps[1]);
        assert_eq!(
            steps[1]["quiz"],
            json!([{"question": "What is 6 times 7?", "choices": ["41", "42", "43"],
                    "multiple": false}])
        );
    }

    /// A Chinese request gets the translation, and is told which parts are in the
    /// lesson's own language (the lint fixture whose translation misses some).
    #[test]
    fn a_detail_in_another_language_marks_what_is_untranslated() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios/tests/lint/translation-missing");
        let (catalog, _) = Catalog::load(&dir, &scenarios::ImageMap::builtin(false)).unwrap();
        let lesson = catalog.get("demo").unwrap();
        let wanted = crate::serve::language::Wanted::of(None, Some("zh-CN,zh;q=0.9"));
        let localized = wanted.localize(lesson);
        let detail = serde_json::to_value(LessonDetail::of(&localized, None)).unwrap();
        assert_eq!(detail["lang"], "zh");
        assert_eq!(detail["languages"], json!(["en", "zh"]));
        assert_eq!(detail["title"], "翻译过的课程");
        assert_eq!(
            detail["description"],
            "A lesson with a Chinese translation."
        );
        assert!(
            detail["intro_html"].as_str().unwrap().contains("欢迎"),
            "{detail}"
        );
        let steps = detail["steps"].as_array().unwrap();
        assert_eq!(steps[0]["title"], "Make a file", "its title is missing");
        assert!(steps[0]["html"].as_str().unwrap().contains("创建文件"));
        assert!(steps[0]["hint_html"].as_str().unwrap().contains("Use"));
        assert_eq!(steps[1]["quiz"][0]["question"], "6 乘以 7 等于多少？");
        assert_eq!(
            detail["untranslated"],
            json!([
                "description",
                "steps[0].title",
                "steps[0].check[0].fail",
                "steps[0].hint",
                "steps[1].quiz[0]"
            ])
        );
        assert!(detail.get("stale").is_none(), "{detail}");
        // English asked, English served, nothing marked.
        let en = crate::serve::language::Wanted::of(Some("en"), Some("zh")).localize(lesson);
        let detail = serde_json::to_value(LessonDetail::of(&en, None)).unwrap();
        assert_eq!(
            (detail["lang"].as_str(), detail["title"].as_str()),
            (Some("en"), Some("Translated"))
        );
        assert!(detail.get("untranslated").is_none());
    }
}
