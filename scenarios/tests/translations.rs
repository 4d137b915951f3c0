//! A lesson in another language: what [`scenarios::Lesson::localized`] puts in place
//! of the original, on the clean translation fixture (its diagnostics, and the parts
//! each broken fixture leaves untranslated, are in the lint snapshots).

use std::path::Path;

use scenarios::{Check, ImageMap, load_lesson};

fn fixture() -> scenarios::Lesson {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lint/translation-ok/demo");
    let load = load_lesson(&dir, &ImageMap::builtin(false));
    assert!(load.diagnostics.is_empty(), "{:?}", load.diagnostics);
    load.lesson.unwrap()
}

#[test]
fn the_translation_replaces_every_text_and_keeps_everything_else() {
    let lesson = fixture();
    assert_eq!(lesson.languages(), ["en", "zh"]);
    let zh = lesson.localized("zh");
    assert!(zh.untranslated.is_empty() && zh.stale.is_empty(), "{zh:?}");
    let l = &zh.lesson;
    assert_eq!(l.language, "zh");
    assert!(l.translations.is_empty());
    assert_eq!(l.title, "翻译过的课程");
    assert_eq!(l.description, "一个带中文翻译的课程。");
    // The `translates` line is the translator's, not the learner's.
    assert_eq!(
        l.intro.as_ref().unwrap().markdown,
        "# 欢迎\n\n本课程会创建一个文件。\n"
    );
    assert!(l.steps[0].text.markdown.starts_with("# 创建文件\n"));
    assert_eq!(l.steps[0].hint.as_ref().unwrap().markdown, "用 `touch`。\n");
    assert_eq!(l.steps[0].title, "创建文件");
    assert_eq!(
        l.steps[0].checks[0].fail_message(),
        Some("/tmp/done 还不存在。")
    );
    assert_eq!(l.steps[0].checks[1].fail_message(), None);
    let quiz = &l.steps[1].quiz[0];
    assert_eq!(quiz.question, "6 乘以 7 等于多少？");
    assert_eq!(quiz.explain.as_deref(), Some("六个七是 42。"));
    // What runs is the original's: scripts, answers, nodes.
    let original = &lesson.steps[0];
    match (&l.steps[0].checks[0], &original.checks[0]) {
        (Check::Shell(ours), Check::Shell(theirs)) => assert_eq!(ours.run, theirs.run),
        other => panic!("{other:?}"),
    }
    assert_eq!(quiz.answer, lesson.steps[1].quiz[0].answer);
    assert_eq!(l.environment, lesson.environment);
}

#[test]
fn a_language_without_a_translation_is_the_original() {
    let lesson = fixture();
    let fr = lesson.localized("fr");
    assert_eq!(fr.lesson.language, "en");
    assert_eq!(fr.lesson.title, lesson.title);
    assert!(fr.untranslated.is_empty());
    // The original in its own language, likewise.
    assert_eq!(lesson.localized("en").lesson.steps, lesson.steps);
}

/// The bundled lessons come in Chinese, whole and current: no translation warning, and
/// nothing of any of them falls back to English.
#[test]
fn the_bundled_lessons_are_wholly_translated_into_chinese() {
    let content = Path::new(env!("CARGO_MANIFEST_DIR")).join("../content");
    let (lessons, diagnostics) = scenarios::lint(&[&content]);
    let translation_problems: Vec<String> = diagnostics
        .iter()
        .filter(|d| !d.message.contains("is a system node"))
        .map(|d| d.display_relative_to(&content).to_string())
        .collect();
    assert!(translation_problems.is_empty(), "{translation_problems:#?}");
    assert_eq!(lessons.len(), 6);
    for lesson in &lessons {
        assert_eq!(lesson.languages(), ["en", "zh"], "{}", lesson.id);
        let zh = lesson.localized("zh");
        assert!(
            zh.untranslated.is_empty() && zh.stale.is_empty(),
            "{}: {zh:?}",
            lesson.id
        );
    }
}
