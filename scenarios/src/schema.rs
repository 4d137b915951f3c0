//! The JSON Schema of `lesson.yaml`, generated from [`crate::native::LessonFile`] so it
//! cannot drift from what the loader accepts. The committed copy lives at
//! `schema/lesson.schema.json` (a test keeps it current).

use crate::native::LessonFile;

/// The schema as pretty-printed JSON with a trailing newline.
pub fn lesson_schema() -> String {
    let schema = schemars::schema_for!(LessonFile);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema always serializes");
    text.push('\n');
    text
}
