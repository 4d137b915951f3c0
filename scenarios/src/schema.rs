//! The JSON Schemas of `lesson.yaml` and of its translations (`lesson.LANG.yaml`),
//! generated from [`crate::native::LessonFile`] and
//! [`crate::translation::TranslationFile`] so they cannot drift from what the loader
//! accepts. The committed copies live at `schema/lesson.schema.json` and
//! `schema/lesson-translation.schema.json` (a test keeps them current).

use schemars::JsonSchema;

use crate::native::LessonFile;
use crate::translation::TranslationFile;

/// The schema of `lesson.yaml` as pretty-printed JSON with a trailing newline.
pub fn lesson_schema() -> String {
    pretty::<LessonFile>()
}

/// The schema of a `lesson.LANG.yaml`, likewise.
pub fn translation_schema() -> String {
    pretty::<TranslationFile>()
}

fn pretty<T: JsonSchema>() -> String {
    let schema = schemars::schema_for!(T);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema always serializes");
    text.push('\n');
    text
}
