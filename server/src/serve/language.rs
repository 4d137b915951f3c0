//! Which language a request wants lesson text in: `?lang=` when given (the web UI's
//! language switch, and `EventSource`, which cannot set headers), else the
//! `Accept-Language` header, so any client gets the same choice as the browser.
//!
//! The languages a request accepts are matched against a lesson's own languages with
//! `fluent-langneg` (Project Fluent's negotiation, as Firefox does it): `zh-CN` gets a
//! lesson's `zh`, and a request for a language the lesson lacks gets the lesson's own.
//! Reading it from a request is `api/extract.rs`'s: this room knows no HTTP.

use fluent_langneg::{LanguageIdentifier, NegotiationStrategy, negotiate_languages};
use scenarios::{Lesson, Localized};

/// The languages a request accepts, most wanted first; empty when it says nothing.
#[derive(Debug, Clone, Default)]
pub struct Wanted(Vec<LanguageIdentifier>);

impl Wanted {
    /// From `?lang=` (one tag or an `Accept-Language`-style list) when it says
    /// something, else from the `Accept-Language` header. Tags that do not parse are
    /// left out.
    pub fn of(lang: Option<&str>, accept_language: Option<&str>) -> Wanted {
        match lang.filter(|l| !l.trim().is_empty()).or(accept_language) {
            Some(list) => Wanted(fluent_langneg::parse_accepted_languages(list)),
            None => Wanted::default(),
        }
    }

    /// The language of `lesson` to serve: the best of its languages for this request,
    /// or its own.
    pub fn pick<'a>(&self, lesson: &'a Lesson) -> &'a str {
        let languages = lesson.languages();
        let available: Vec<LanguageIdentifier> =
            fluent_langneg::convert_vec_str_to_langids_lossy(&languages);
        let own = available.first();
        let chosen = negotiate_languages(&self.0, &available, own, NegotiationStrategy::Lookup);
        chosen
            .first()
            .and_then(|id| available.iter().position(|a| a == *id))
            .map_or(lesson.language.as_str(), |i| languages[i])
    }

    /// `lesson` in the language to serve.
    pub fn localize(&self, lesson: &Lesson) -> Localized {
        lesson.localized(self.pick(lesson))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lesson(translations: &[&str]) -> Lesson {
        let mut lesson =
            Lesson::with_environment("demo", "/demo", scenarios::Environment::new(vec![]));
        for language in translations {
            lesson
                .translations
                .insert((*language).to_owned(), Default::default());
        }
        lesson
    }

    #[test]
    fn the_request_picks_among_the_lessons_languages() {
        let both = lesson(&["zh"]);
        let pick = |query: Option<&str>, header: Option<&str>| {
            Wanted::of(query, header).pick(&both).to_owned()
        };
        assert_eq!(pick(None, None), "en");
        assert_eq!(pick(None, Some("zh-CN,zh;q=0.9,en;q=0.8")), "zh");
        assert_eq!(
            pick(None, Some("fr-FR,fr;q=0.9")),
            "en",
            "a language the lesson lacks"
        );
        assert_eq!(pick(None, Some("fr,zh;q=0.5")), "zh", "the best one it has");
        assert_eq!(pick(None, Some("en-US,en;q=0.9,zh;q=0.8")), "en");
        // `?lang=` wins over the header: the UI's switch, and EventSource.
        assert_eq!(pick(Some("en"), Some("zh-CN")), "en");
        assert_eq!(pick(Some("zh-Hans-CN"), None), "zh");
        assert_eq!(
            pick(Some(""), Some("zh")),
            "zh",
            "an empty `lang` says nothing"
        );
        assert_eq!(pick(None, Some("garbage;;;")), "en");
        // A lesson without translations is served as it is whatever is asked.
        assert_eq!(Wanted::of(None, Some("zh")).pick(&lesson(&[])), "en");
    }
}
