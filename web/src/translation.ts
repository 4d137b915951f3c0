// Lesson text that is not (or not surely) in the interface's language: the server
// names the parts it had to show in the lesson's own language (`untranslated`) and the
// parts whose translation is older than their original (`stale`); the page marks them
// with a badge and gives their element the `lang` of the text it holds (so screen
// readers and fonts treat it right).

import type { LessonLanguages } from "./api";
import { h } from "./dom";
import { languageName, t, tCode, uiLocale } from "./i18n";

/** A part of a lesson's text (`title`, `steps[0].hint`, …): the language it is shown
 *  in, for its element's `lang`, and its badge, or null for a part in the language
 *  asked for. */
export function lessonPart(lesson: LessonLanguages, part: string): { lang: string; badge: HTMLElement | null } {
  if (lesson.untranslated?.includes(part)) {
    const original = lesson.languages[0];
    return { lang: original, badge: badge("untranslated-badge", t("translation.untranslated", languageName(original))) };
  }
  const stale = lesson.stale?.includes(part) ? badge("stale-badge", t("translation.stale")) : null;
  return { lang: lesson.lang, badge: stale };
}

function badge(kind: string, text: string): HTMLElement {
  // In the interface's language, whatever the text it sits beside is in.
  return h("span", { class: `translation-badge ${kind}`, lang: uiLocale() }, text);
}

/** Why a lesson cannot start here, in the interface's language (the server's English
 *  sentence for a code the catalogue does not know), or null when it can. */
export function unavailableText(lesson: { unavailable?: string; unavailable_code?: string }): string | null {
  if (!lesson.unavailable) return null;
  return tCode("unavailable", lesson.unavailable_code ?? "", lesson.unavailable);
}
