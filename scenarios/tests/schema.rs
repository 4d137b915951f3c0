//! `schema/lesson.schema.json` and `schema/lesson-translation.schema.json` are
//! generated from the `lesson.yaml` and `lesson.LANG.yaml` types; this test fails when
//! a committed copy is stale. Regenerate them with
//! `UPDATE_SCHEMA=1 cargo test -p scenarios --test schema`. It also keeps the example
//! in `FORMAT.md` identical to the clean lint fixture.

use std::path::Path;

#[test]
fn committed_schemas_are_current() {
    for (file, generated) in [
        ("lesson.schema.json", scenarios::schema::lesson_schema()),
        (
            "lesson-translation.schema.json",
            scenarios::schema::translation_schema(),
        ),
    ] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../schema")
            .join(file);
        if std::env::var_os("UPDATE_SCHEMA").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "{} is stale or missing; regenerate it with `UPDATE_SCHEMA=1 cargo test -p scenarios --test schema`",
            path.display()
        );
    }
}

/// The schema describes what the loader accepts: every lint fixture's `lesson.yaml`
/// that loads cleanly uses only keys the schema knows.
#[test]
fn schema_knows_the_top_level_keys() {
    let schema: serde_json::Value =
        serde_json::from_str(&scenarios::schema::lesson_schema()).unwrap();
    let props = schema["properties"].as_object().unwrap();
    for key in [
        "title",
        "description",
        "environment",
        "steps",
        "session_ttl",
        "assets",
        "setup",
        "intro",
        "finish",
        "language",
    ] {
        assert!(props.contains_key(key), "{key} missing from the schema");
    }
    assert_eq!(
        schema["additionalProperties"],
        serde_json::Value::Bool(false)
    );
}

/// `FORMAT.md` shows the complete example lesson; it must stay the fixture that lint
/// proves clean.
#[test]
fn format_reference_example_is_the_clean_fixture() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("FORMAT.md")).unwrap();
    let start = doc.find("```yaml\n").expect("FORMAT.md has a yaml example") + "```yaml\n".len();
    let end = start + doc[start..].find("```\n").unwrap();
    let fixture =
        std::fs::read_to_string(root.join("tests/lint/ok/everything/lesson.yaml")).unwrap();
    assert_eq!(&doc[start..end], fixture, "update the example in FORMAT.md");
}
