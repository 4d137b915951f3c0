//! Translations of a native lesson, as `FORMAT.md` ("Translations") describes them: a
//! page's translation sits beside it (`step1.md` → `step1.zh.md`, its first line
//! naming the version of the original it translates), and the strings of
//! `lesson.yaml` are in `lesson.LANG.yaml`, in the same shape.
//!
//! [`load`] finds a lesson's translations and checks each part against its original:
//! what is **incomplete** (a part has no translation), **stale** (the original changed
//! after it was translated) or **malformed** (not the original's shape, or not
//! readable) is a warning at the file and line to fix. Never an error: a broken
//! translation must not take the lesson away from the learners of its own language,
//! so a part that cannot be used is left out and the original is shown there.
//! [`Lesson::localized`] is the lesson in one language, with the parts that fell back.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};
use schemars::JsonSchema;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::diagnostic::{Diagnostic, Severity, line_col};
use crate::model::*;
use crate::resolve::{ReadError, read_text};
use crate::source_map::{SourceMap, field, index};
use crate::units;
use crate::yaml;

/// `lesson.LANG.yaml`: the strings of `lesson.yaml` in the language `LANG`, in the
/// same shape and order, and only those.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "playlab lesson translation (lesson.LANG.yaml)")]
pub struct TranslationFile {
    /// The version of `lesson.yaml` translated: the first 12 hex digits of its SHA-256
    /// (`sha256sum lesson.yaml | cut -c1-12`).
    pub translates: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// One entry per step of `lesson.yaml`, in order.
    #[serde(default)]
    pub steps: Vec<StepTranslationFile>,
}

/// A step's strings.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepTranslationFile {
    #[serde(default)]
    pub title: Option<String>,
    /// One entry per check of the step, in order (`{}` for a check without `fail`).
    #[serde(default)]
    pub check: Vec<CheckTranslationFile>,
    /// One entry per quiz question of the step, in order.
    #[serde(default)]
    pub quiz: Vec<QuizTranslationFile>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckTranslationFile {
    /// The check's failure message, when the original has one.
    #[serde(default)]
    pub fail: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuizTranslationFile {
    #[serde(default)]
    pub question: Option<String>,
    /// As many as the original has, in its order: the answers are indices.
    #[serde(default)]
    pub choices: Option<Vec<String>>,
    /// When the original has an explanation.
    #[serde(default)]
    pub explain: Option<String>,
}

/// Every key a `lesson.LANG.yaml` mapping may have, for "did you mean" hints.
const KNOWN_KEYS: &[&str] = &[
    "translates",
    "title",
    "description",
    "steps",
    "check",
    "fail",
    "quiz",
    "question",
    "choices",
    "explain",
];

/// The version of an original a translation names: the first 12 hex digits of the
/// SHA-256 of its bytes, as `sha256sum FILE | cut -c1-12` prints them.
pub fn version(text: &str) -> String {
    let mut hex = hex::encode(Sha256::digest(text.as_bytes()));
    hex.truncate(12);
    hex
}

/// The file that holds `original`'s translation into `language`: `step1.md` →
/// `step1.zh.md`, `lesson.yaml` → `lesson.zh.yaml`.
pub fn translation_path(original: &Path, language: &str) -> PathBuf {
    let stem = original.file_stem().unwrap_or_default().to_string_lossy();
    let name = match original.extension() {
        Some(ext) => format!("{stem}.{language}.{}", ext.to_string_lossy()),
        None => format!("{stem}.{language}"),
    };
    original.with_file_name(name)
}

/// Every translation of `lesson` (a native lesson, resolved from `lesson_yaml` whose
/// positions are in `map`), by language, and what is wrong with them.
pub(crate) fn load(
    lesson: &Lesson,
    map: &SourceMap,
    lesson_yaml: &str,
) -> (BTreeMap<String, Translation>, Vec<Diagnostic>) {
    let pages = lesson.pages();
    let mut diags = Vec::new();
    let languages = languages(lesson, &pages, &mut diags);
    let translations = languages
        .into_iter()
        .map(|language| {
            let mut loader = Loader {
                lesson,
                map,
                language: &language,
                diags: &mut diags,
                translation: Translation {
                    steps: vec![StepTranslation::default(); lesson.steps.len()],
                    ..Translation::default()
                },
            };
            loader.strings(lesson_yaml);
            for (place, page) in &pages {
                loader.page(*place, page);
            }
            (language.clone(), loader.translation)
        })
        .collect();
    (translations, diags)
}

/// Where the page at `place` is named in `lesson.yaml`: `intro`, `steps[1].text`.
fn page_path(place: PagePlace) -> String {
    match place {
        PagePlace::Intro => "intro".into(),
        PagePlace::StepText(i) => field(&index("steps", i), "text"),
        PagePlace::StepHint(i) => field(&index("steps", i), "hint"),
        PagePlace::Finish => "finish".into(),
    }
}

/// The languages the lesson has translations into: each `lesson.LANG.yaml` and each
/// `PAGE.LANG.md` beside a page names one. A `NAME.LANG.md` in a language the lesson
/// has, beside no page called `NAME.md`, is reported: it is a misnamed translation, or
/// one of a page the lesson no longer has.
fn languages(
    lesson: &Lesson,
    pages: &[(PagePlace, &Page)],
    diags: &mut Vec<Diagnostic>,
) -> BTreeSet<String> {
    let page_paths: BTreeSet<&Path> = pages.iter().map(|(_, p)| p.path.as_path()).collect();
    let mut folders: BTreeSet<&Path> = page_paths.iter().filter_map(|p| p.parent()).collect();
    folders.insert(&lesson.dir);
    // (file, the original it would translate, its language)
    let mut candidates = Vec::new();
    for folder in folders {
        let Ok(entries) = std::fs::read_dir(folder) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some((stem, language, ext)) = split_translated_name(&name) else {
                continue;
            };
            if ext == "md" || (ext == "yaml" && stem == "lesson" && folder == lesson.dir) {
                candidates.push((entry.path(), folder.join(format!("{stem}.{ext}")), language));
            }
        }
    }
    let mut languages = BTreeSet::new();
    for (_, original, language) in &candidates {
        if page_paths.contains(original.as_path()) || original.ends_with("lesson.yaml") {
            languages.insert(language.clone());
        }
    }
    languages.remove(&lesson.language);
    for (file, original, language) in candidates {
        if languages.contains(&language)
            && !page_paths.contains(original.as_path())
            && !original.ends_with("lesson.yaml")
        {
            let name = original.file_name().unwrap_or_default().to_string_lossy();
            diags.push(
                Diagnostic::warning(
                    &file,
                    1,
                    1,
                    format!("not a translation of any page of the lesson: it has no page `{name}`"),
                )
                .with_hint("name a page's translation after it (`step1.md` → `step1.zh.md`), or remove the file"),
            );
        }
    }
    languages
}

/// `step1.zh.md` → (`step1`, `zh`, `md`): a file name with a language tag before its
/// extension.
fn split_translated_name(name: &str) -> Option<(&str, String, &str)> {
    let (rest, ext) = name.rsplit_once('.')?;
    let (stem, language) = rest.rsplit_once('.')?;
    (!stem.is_empty() && units::is_language_tag(language)).then(|| (stem, language.to_owned(), ext))
}

/// Loads one language's translation, collecting its diagnostics.
struct Loader<'a> {
    lesson: &'a Lesson,
    /// Positions in `lesson.yaml`.
    map: &'a SourceMap,
    language: &'a str,
    diags: &'a mut Vec<Diagnostic>,
    translation: Translation,
}

impl Loader<'_> {
    fn warn(&mut self, map: &SourceMap, path: &str, message: String) -> &mut Diagnostic {
        self.diags.push(map.warning(path, message));
        self.diags.last_mut().expect("just pushed")
    }

    /// A translation file's text. A missing file is the caller's to report (it
    /// knows what is missing); one that cannot be read is reported here.
    fn read(&mut self, file: &Path) -> Read {
        match read_text(file) {
            Ok(text) => Read::Text(text),
            Err(ReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => Read::Missing,
            Err(ReadError::Io(e)) => {
                let d = Diagnostic::error(file, 1, 1, format!("cannot read the file: {e}"));
                self.diags.push(unusable(d, self.language));
                Read::Unreadable
            }
            Err(ReadError::NotUtf8(d)) => {
                self.diags.push(unusable(d, self.language));
                Read::Unreadable
            }
        }
    }

    /// The translated strings, from `lesson.LANG.yaml`.
    fn strings(&mut self, lesson_yaml: &str) {
        let original = self.lesson.dir.join("lesson.yaml");
        let file = translation_path(&original, self.language);
        let language = self.language;
        let text = match self.read(&file) {
            Read::Text(text) => text,
            Read::Missing => {
                self.warn(self.map, "title", format!(
                    "the `{language}` translation has no `lesson.{language}.yaml`: the title, description, step titles, check messages and quiz are untranslated"
                ))
                .hint = Some(format!(
                    "add `lesson.{language}.yaml` beginning with `translates: {}`",
                    version(lesson_yaml)
                ));
                return;
            }
            Read::Unreadable => return,
        };
        let (strings, tmap) =
            match yaml::parse::<TranslationFile>(&file, &text, "translates", KNOWN_KEYS) {
                Ok(parsed) => parsed,
                Err(d) => {
                    self.diags.push(unusable(d, language));
                    return;
                }
            };
        let current = version(lesson_yaml);
        let stale = strings.translates.trim() != current;
        if stale {
            self.warn(&tmap, "translates", format!(
                "stale `{language}` translation: it translates lesson.yaml@{}, which has changed since (now @{current})",
                strings.translates.trim()
            ))
            .hint = Some(format!(
                "bring these strings up to date with lesson.yaml (e.g. `git diff` it), then write `translates: {current}`"
            ));
        }
        self.apply_strings(strings, &tmap);
        if stale {
            let t = &mut self.translation;
            let mut parts = Vec::new();
            parts.extend(t.title.is_some().then(|| "title".to_owned()));
            parts.extend(t.description.is_some().then(|| "description".to_owned()));
            for (i, step) in t.steps.iter().enumerate() {
                let step_path = index("steps", i);
                parts.extend(step.title.is_some().then(|| field(&step_path, "title")));
                for (j, _) in step.checks.iter().enumerate().filter(|(_, c)| c.is_some()) {
                    parts.push(field(&index(&field(&step_path, "check"), j), "fail"));
                }
                for (k, _) in step.quiz.iter().enumerate().filter(|(_, q)| q.is_some()) {
                    parts.push(index(&field(&step_path, "quiz"), k));
                }
            }
            t.stale.extend(parts);
        }
    }

    fn apply_strings(&mut self, strings: TranslationFile, tmap: &SourceMap) {
        let language = self.language;
        let missing = |path: &str| format!("`{path}` has no `{language}` translation");
        match strings.title {
            Some(title) => self.translation.title = Some(title),
            None => {
                self.warn(tmap, ".", missing("title"));
            }
        }
        match strings.description {
            Some(description) => self.translation.description = Some(description),
            None if !self.lesson.description.is_empty() => {
                self.warn(tmap, ".", missing("description"));
            }
            None => {}
        }
        let lesson = self.lesson;
        let originals = &lesson.steps;
        if strings.steps.len() > originals.len() {
            self.warn(
                tmap,
                &index("steps", originals.len()),
                format!(
                    "a step too many: lesson.yaml has {} step(s)",
                    originals.len()
                ),
            )
            .hint = Some("give one entry per step of lesson.yaml, in its order".into());
        }
        let mut entries = strings.steps.into_iter();
        for (i, original) in originals.iter().enumerate() {
            let path = index("steps", i);
            let Some(entry) = entries.next() else {
                self.warn(
                    tmap,
                    "steps",
                    format!(
                        "step {} (`{}`) has no `{language}` translation",
                        i + 1,
                        original.title
                    ),
                );
                continue;
            };
            let mut step = std::mem::take(&mut self.translation.steps[i]);
            match entry.title {
                Some(title) => step.title = Some(title),
                None => {
                    self.warn(tmap, &path, missing(&field(&path, "title")));
                }
            }
            step.checks = self.checks(original, entry.check, &path, tmap);
            step.quiz = self.quiz(original, entry.quiz, &path, tmap);
            self.translation.steps[i] = step;
        }
    }

    fn checks(
        &mut self,
        original: &Step,
        entries: Vec<CheckTranslationFile>,
        step_path: &str,
        tmap: &SourceMap,
    ) -> Vec<Option<String>> {
        let list = field(step_path, "check");
        if entries.len() > original.checks.len() {
            self.warn(
                tmap,
                &index(&list, original.checks.len()),
                format!(
                    "a check too many: this step of lesson.yaml has {} check(s)",
                    original.checks.len()
                ),
            );
        }
        let mut entries = entries.into_iter();
        original
            .checks
            .iter()
            .enumerate()
            .map(|(j, check)| {
                let path = field(&index(&list, j), "fail");
                let fail = entries.next().and_then(|e| e.fail);
                match (check.fail_message(), fail) {
                    (Some(_), Some(fail)) => Some(fail),
                    (Some(_), None) => {
                        self.warn(
                            tmap,
                            &path,
                            format!("`{path}` has no `{}` translation", self.language),
                        );
                        None
                    }
                    (None, Some(_)) => {
                        self.warn(
                            tmap,
                            &path,
                            "the original check has no `fail` message to translate".into(),
                        )
                        .hint = Some("write `{}` for a check without `fail`".into());
                        None
                    }
                    (None, None) => None,
                }
            })
            .collect()
    }

    fn quiz(
        &mut self,
        original: &Step,
        entries: Vec<QuizTranslationFile>,
        step_path: &str,
        tmap: &SourceMap,
    ) -> Vec<Option<QuizTranslation>> {
        let list = field(step_path, "quiz");
        if entries.len() > original.quiz.len() {
            self.warn(
                tmap,
                &index(&list, original.quiz.len()),
                format!(
                    "a question too many: this step of lesson.yaml has {} question(s)",
                    original.quiz.len()
                ),
            );
        }
        let language = self.language;
        let mut entries = entries.into_iter();
        original
            .quiz
            .iter()
            .enumerate()
            .map(|(k, item)| {
                let path = index(&list, k);
                let Some(entry) = entries.next() else {
                    self.warn(tmap, &list, format!("`{path}` has no `{language}` translation"));
                    return None;
                };
                let (Some(question), Some(choices)) = (entry.question, entry.choices) else {
                    self.warn(tmap, &path, format!(
                        "`{path}` needs both `question` and `choices` in `{language}`"
                    ));
                    return None;
                };
                if choices.len() != item.choices.len() {
                    self.warn(tmap, &field(&path, "choices"), format!(
                        "{} choice(s), but the original has {}",
                        choices.len(),
                        item.choices.len()
                    ))
                    .hint = Some("translate each choice of the original, in its order: the answers are their indices".into());
                    return None;
                }
                let explain = match (&item.explain, entry.explain) {
                    (Some(_), None) => {
                        self.warn(tmap, &path, format!("`{}` has no `{language}` translation", field(&path, "explain")));
                        None
                    }
                    (None, Some(_)) => {
                        self.warn(tmap, &field(&path, "explain"), "the original question has no `explain` to translate".into());
                        None
                    }
                    (_, explain) => explain,
                };
                Some(QuizTranslation {
                    question,
                    choices,
                    explain,
                })
            })
            .collect()
    }

    /// The translation of the page at `path` of `lesson.yaml`.
    fn page(&mut self, place: PagePlace, original: &Page) {
        let path = &page_path(place);
        let language = self.language;
        let file = translation_path(&original.path, language);
        let name = original
            .path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let current = version(&original.markdown);
        let header = format!("<!-- translates: {name}@{current} -->");
        let text = match self.read(&file) {
            Read::Text(text) => text,
            Read::Missing => {
                let translated = file.file_name().unwrap_or_default().to_string_lossy();
                self.warn(
                    self.map,
                    path,
                    format!("`{name}` has no `{language}` translation"),
                )
                .hint = Some(format!("add `{translated}` beginning with `{header}`"));
                return;
            }
            Read::Unreadable => return,
        };
        let (first_line, body) = text.split_once('\n').unwrap_or((&text, ""));
        let stale = match parse_header(first_line) {
            Some((of, _)) if of != name => {
                self.diags.push(
                    Diagnostic::warning(&file, 1, 1, format!(
                        "this page says it translates `{of}`, but it stands beside `{name}`"
                    ))
                    .with_hint(format!("a page's translation is named after its original; the first line should be `{header}`")),
                );
                return;
            }
            Some((_, at)) if at == current => false,
            Some((_, at)) => {
                self.diags.push(
                    Diagnostic::warning(&file, 1, 1, format!(
                        "stale `{language}` translation: it translates {name}@{at}, which has changed since (now @{current})"
                    ))
                    .with_hint(format!(
                        "bring the translation up to date with {name} (e.g. `git diff` it), then make this line `{header}`"
                    )),
                );
                true
            }
            None => {
                self.diags.push(
                    Diagnostic::warning(&file, 1, 1, "the first line of a page's translation must name the version it translates")
                        .with_hint(format!("make the first line `{header}`")),
                );
                true
            }
        };
        if let Some(d) = code_blocks_differ(original, &file, &text) {
            self.diags.push(d);
        }
        if stale {
            self.translation.stale.insert(path.to_owned());
        }
        let page = Page {
            path: file,
            markdown: body.to_owned(),
        };
        self.translation.pages.insert(place, page);
    }
}

/// What reading a translation file gave.
enum Read {
    Text(String),
    Missing,
    /// Reported already.
    Unreadable,
}

/// A diagnostic about a file that makes it unusable, as a warning: the original is
/// shown in its place.
fn unusable(mut d: Diagnostic, language: &str) -> Diagnostic {
    d.severity = Severity::Warning;
    let consequence =
        format!("the `{language}` translation of this file is not used until it is fixed");
    d.hint = Some(match d.hint.take() {
        Some(hint) => format!("{hint} ({consequence})"),
        None => consequence,
    });
    d
}

/// `<!-- translates: step1.md@3f2a9c0d1b7e -->` → (`step1.md`, `3f2a9c0d1b7e`).
fn parse_header(line: &str) -> Option<(&str, &str)> {
    let inner = line
        .trim()
        .strip_prefix("<!--")?
        .strip_suffix("-->")?
        .trim();
    let (of, at) = inner.strip_prefix("translates:")?.trim().rsplit_once('@')?;
    Some((of.trim(), at.trim()))
}

/// The first code block of the translation (its full `text`) that is not the
/// original's, byte for byte: the commands a learner clicks are the same in every
/// language.
fn code_blocks_differ(original: &Page, file: &Path, text: &str) -> Option<Diagnostic> {
    let theirs = code_blocks(&original.markdown);
    let ours = code_blocks(text);
    let name = original
        .path
        .file_name()
        .unwrap_or_default()
        .to_string_lossy();
    let differs = ours
        .iter()
        .zip(&theirs)
        .find(|(a, b)| (&a.1, &a.2) != (&b.1, &b.2));
    let (line, message) = match differs {
        Some((mine, original_block)) => {
            let (line, _) = line_col(text, mine.0);
            let (original_line, _) = line_col(&original.markdown, original_block.0);
            (
                line,
                format!("this code block is not the one of `{name}` (line {original_line})"),
            )
        }
        None if ours.len() != theirs.len() => (
            1,
            format!(
                "{} code block(s), but `{name}` has {}",
                ours.len(),
                theirs.len()
            ),
        ),
        None => return None,
    };
    Some(Diagnostic::warning(file, line, 1, message).with_hint(
        "copy the original's code blocks byte for byte, markers included: only the prose around them is translated",
    ))
}

/// Each code block of `markdown`: its offset, info string and text.
fn code_blocks(markdown: &str) -> Vec<(usize, String, String)> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, String, String)> = None;
    for (event, range) in Parser::new(markdown).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(kind)) => {
                let info = match kind {
                    CodeBlockKind::Fenced(info) => info.to_string(),
                    CodeBlockKind::Indented => String::new(),
                };
                open = Some((range.start, info, String::new()));
            }
            Event::Text(t) => {
                if let Some((_, _, code)) = &mut open {
                    code.push_str(&t);
                }
            }
            Event::End(TagEnd::CodeBlock) => blocks.extend(open.take()),
            _ => {}
        }
    }
    blocks
}

/// A lesson in one language, and which of its parts are not in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Localized {
    /// The lesson with every translated part in place (`lesson.language` says which
    /// language it is in) and no translations of its own.
    pub lesson: Lesson,
    /// The parts shown in the lesson's own language because the translation has none
    /// (paths in `lesson.yaml`, `steps[1].text`).
    pub untranslated: Vec<String>,
    /// The parts translated from an older version of their original.
    pub stale: Vec<String>,
    /// Every language of the lesson, its own first: what a reader may ask for instead.
    pub languages: Vec<String>,
}

impl Lesson {
    /// The lesson's languages: its own first, then its translations'.
    pub fn languages(&self) -> Vec<&str> {
        std::iter::once(self.language.as_str())
            .chain(self.translations.keys().map(String::as_str))
            .collect()
    }

    /// The lesson in `language`, each part of it that has no usable translation in
    /// the original, listed in `untranslated`. A language the lesson has no
    /// translation into gives the original as it is, nothing marked.
    pub fn localized(&self, language: &str) -> Localized {
        let languages = self.languages().into_iter().map(str::to_owned).collect();
        let mut lesson = self.clone();
        let translations = std::mem::take(&mut lesson.translations);
        let Some(t) = translations.get(language) else {
            return Localized {
                lesson,
                untranslated: Vec::new(),
                stale: Vec::new(),
                languages,
            };
        };
        lesson.language = language.to_owned();
        let mut untranslated = Vec::new();
        let put = |slot: &mut String,
                   translated: &Option<String>,
                   path: String,
                   untranslated: &mut Vec<String>| match translated {
            Some(text) => *slot = text.clone(),
            None => untranslated.push(path),
        };
        put(
            &mut lesson.title,
            &t.title,
            "title".into(),
            &mut untranslated,
        );
        if !lesson.description.is_empty() {
            put(
                &mut lesson.description,
                &t.description,
                "description".into(),
                &mut untranslated,
            );
        }
        for (i, (step, st)) in lesson.steps.iter_mut().zip(&t.steps).enumerate() {
            let path = index("steps", i);
            put(
                &mut step.title,
                &st.title,
                field(&path, "title"),
                &mut untranslated,
            );
            for (j, check) in step.checks.iter_mut().enumerate() {
                if let Some(slot) = check.fail_message_mut() {
                    let fail = st.checks.get(j).cloned().flatten();
                    put(
                        slot,
                        &fail,
                        field(&index(&field(&path, "check"), j), "fail"),
                        &mut untranslated,
                    );
                }
            }
            for (k, item) in step.quiz.iter_mut().enumerate() {
                let item_path = index(&field(&path, "quiz"), k);
                let Some(Some(qt)) = st.quiz.get(k) else {
                    untranslated.push(item_path);
                    continue;
                };
                item.question = qt.question.clone();
                item.choices = qt.choices.clone();
                match (&mut item.explain, &qt.explain) {
                    (Some(explain), Some(translated)) => *explain = translated.clone(),
                    (Some(_), None) => untranslated.push(item_path),
                    (None, _) => {}
                }
            }
        }
        for (place, _) in self.pages() {
            let page = lesson.page_mut(place).expect("a page of the lesson");
            match t.pages.get(&place) {
                Some(translated) => *page = translated.clone(),
                None => untranslated.push(page_path(place)),
            }
        }
        let mut stale: Vec<String> = t.stale.iter().cloned().collect();
        for parts in [&mut untranslated, &mut stale] {
            parts.sort_by_key(|path| part_order(&lesson, path));
        }
        Localized {
            lesson,
            untranslated,
            stale,
            languages,
        }
    }
}

/// Where a part comes in the lesson (title, description, intro, the steps, finish), so
/// lists of parts read in the order a learner meets them.
fn part_order(lesson: &Lesson, path: &str) -> usize {
    match path {
        "title" => 0,
        "description" => 1,
        "intro" => 2,
        "finish" => 3 + lesson.steps.len(),
        _ => {
            let step = path
                .strip_prefix("steps[")
                .and_then(|rest| rest.split_once(']'))
                .and_then(|(n, _)| n.parse::<usize>().ok())
                .unwrap_or(0);
            3 + step
        }
    }
}
