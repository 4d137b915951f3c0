//! Classes: an instructor's group of learners for a training day.
//!
//! The instructor (the admin) creates a class with a name, the lessons it covers, an
//! optional start and end and an optional capacity; the [`ClassBook`] draws its join
//! code. A learner joins with the code and a display name: the membership is bound to
//! their signed identity cookie, and a learner is in at most one class, so "my class"
//! is always one. Members start only the class's lessons, and every session they start
//! records the class, which is how the [`roster`] finds them. Classes and members live
//! in the [`Store`] and survive restarts; the broadcast stream of each class is in
//! memory, its latest message in the store.
//!
//! Its rooms: `roster` (what the instructor sees of a class, computed once for JSON,
//! SSE and CSV), `limiter` (the join code's rate limit per client address), `warmup`
//! (how many environments the warm pool holds for the classes about to start).

mod limiter;
pub mod roster;
#[cfg(test)]
mod tests;
mod warmup;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use rand::Rng;
use serde::{Deserialize, Serialize};

pub use self::limiter::JoinLimiter;
use super::content::SharedCatalog;
use super::events::{Event, EventLog};
use super::language::Wanted;
use super::store::{ClassRecord, MemberRecord, Store};

/// Longest display name, in characters.
pub const MAX_NAME: usize = 40;
/// Longest class name, in characters.
const MAX_CLASS_NAME: usize = 80;
/// Longest broadcast message, in characters.
pub const MAX_MESSAGE: usize = 280;
/// Largest capacity a class may ask for.
const MAX_CAPACITY: usize = 10_000;
/// Join codes are drawn from letters and digits that cannot be misread when spoken
/// or written on a whiteboard (no 0/o, 1/l/i).
const CODE_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
/// 10 characters of 31: about 49 bits, far beyond what the rate limit lets anyone guess.
const CODE_LEN: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum ClassError {
    #[error("{0}")]
    BadName(String),
    #[error("{0}")]
    BadClass(String),
    #[error("{0}")]
    BadMessage(String),
    #[error("there is no lesson {0:?} to put in a class")]
    UnknownLesson(String),
    #[error("there is no class {0}")]
    NotFound(String),
    #[error("that join code is not right; check it with your instructor")]
    WrongCode,
    #[error("too many join attempts from your address; try again in {} s", .0.as_secs().max(1))]
    TooManyAttempts(Duration),
    #[error("the class {name:?} is full ({capacity} learners); ask your instructor")]
    Full { name: String, capacity: usize },
    #[error("the class {0:?} has ended")]
    Over(String),
    #[error("you are already in the class {0:?}; a learner is in one class at a time")]
    InAnotherClass(String),
    #[error("you are not in a class; join one with its code first")]
    NotAMember,
    #[error("the lesson {lesson:?} is not part of your class {class:?}")]
    LessonNotInClass { lesson: String, class: String },
    #[error("the database failed: {0}")]
    Store(#[from] rusqlite::Error),
}

/// What the instructor asks for when creating a class.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewClass {
    pub name: String,
    pub lessons: Vec<String>,
    /// RFC 3339 in UTC, e.g. `2026-12-03T09:00:00Z`.
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub capacity: Option<usize>,
}

/// A class as the instructor sees it.
#[derive(Debug, Clone, Serialize)]
pub struct ClassView {
    pub id: String,
    pub name: String,
    pub lessons: Vec<String>,
    /// Shown as `abcde-fghjk`; learners may type it with or without the dash.
    pub code: String,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub capacity: Option<usize>,
    pub members: usize,
    pub created_at: String,
    pub message: Option<Broadcast>,
}

/// The instructor's latest message to a class.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Broadcast {
    pub message: String,
    pub at: String,
}

/// A lesson of the class, as its members' class page lists it.
#[derive(Debug, Clone, Serialize)]
pub struct ClassLesson {
    pub id: String,
    pub title: String,
    pub description: String,
    pub steps: usize,
}

/// The class as one of its members sees it: no code, no other members.
#[derive(Debug, Clone, Serialize)]
pub struct MyClass {
    pub id: String,
    pub name: String,
    /// The member's own display name.
    pub display_name: String,
    pub lessons: Vec<ClassLesson>,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub message: Option<Broadcast>,
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

fn random_from(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
        .collect()
}

/// The code as learners read it: two groups of five.
fn show_code(code: &str) -> String {
    let (a, b) = code.split_at(code.len() / 2);
    format!("{a}-{b}")
}

/// The code as typed, in the stored form: case, spaces and dashes do not matter.
fn normalize_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// A short text from a person: trimmed, non-empty, at most `max` characters, no
/// control characters (which would garble the roster and the CSV).
fn clean_text(what: &str, text: &str, max: usize) -> Result<String, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(format!("the {what} is empty"));
    }
    if text.chars().count() > max {
        return Err(format!("the {what} is longer than {max} characters"));
    }
    if text.chars().any(char::is_control) {
        return Err(format!(
            "the {what} contains a control character (a line break, a tab, ...)"
        ));
    }
    Ok(text.to_owned())
}

/// A display name as a learner gave it, checked.
pub fn display_name(name: &str) -> Result<String, ClassError> {
    clean_text("display name", name, MAX_NAME).map_err(ClassError::BadName)
}

fn parse_time(field: &str, text: Option<&str>) -> Result<Option<SystemTime>, ClassError> {
    text.map(|t| {
        humantime::parse_rfc3339(t.trim()).map_err(|e| {
            ClassError::BadClass(format!(
                "{field} {t:?} is not an RFC 3339 time in UTC like 2026-12-03T09:00:00Z: {e}"
            ))
        })
    })
    .transpose()
}

/// The classes of this server; see the module documentation.
pub struct ClassBook {
    store: Arc<Store>,
    catalog: Arc<SharedCatalog>,
    limiter: JoinLimiter,
    /// Each class's broadcast stream, made when first used.
    streams: Mutex<HashMap<String, Arc<EventLog>>>,
}

impl ClassBook {
    pub fn new(store: Arc<Store>, catalog: Arc<SharedCatalog>, join_attempts: u32) -> ClassBook {
        ClassBook {
            store,
            catalog,
            limiter: JoinLimiter::per_minute(join_attempts),
            streams: Mutex::new(HashMap::new()),
        }
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    pub fn catalog(&self) -> &Arc<SharedCatalog> {
        &self.catalog
    }

    fn view(&self, c: ClassRecord) -> Result<ClassView, ClassError> {
        let members = self.store.members(&c.id)?.len();
        Ok(ClassView {
            code: show_code(&c.code),
            starts_at: c.starts_at.map(rfc3339),
            ends_at: c.ends_at.map(rfc3339),
            capacity: c.capacity,
            members,
            created_at: rfc3339(c.created_at),
            message: c.message.map(|(message, at)| Broadcast {
                message,
                at: rfc3339(at),
            }),
            id: c.id,
            name: c.name,
            lessons: c.lessons,
        })
    }

    /// Checks the instructor's request and creates the class with a fresh join code.
    pub fn create(&self, new: NewClass) -> Result<ClassView, ClassError> {
        let name =
            clean_text("class name", &new.name, MAX_CLASS_NAME).map_err(ClassError::BadClass)?;
        if new.lessons.is_empty() {
            return Err(ClassError::BadClass(
                "a class covers at least one lesson".into(),
            ));
        }
        let catalog = self.catalog.get();
        let mut lessons: Vec<String> = Vec::new();
        for lesson in new.lessons {
            if catalog.get(&lesson).is_none() {
                return Err(ClassError::UnknownLesson(lesson));
            }
            if !lessons.contains(&lesson) {
                lessons.push(lesson);
            }
        }
        let starts_at = parse_time("starts_at", new.starts_at.as_deref())?;
        let ends_at = parse_time("ends_at", new.ends_at.as_deref())?;
        if let (Some(start), Some(end)) = (starts_at, ends_at)
            && end <= start
        {
            return Err(ClassError::BadClass(
                "ends_at must be after starts_at".into(),
            ));
        }
        if let Some(capacity) = new.capacity
            && !(1..=MAX_CAPACITY).contains(&capacity)
        {
            return Err(ClassError::BadClass(format!(
                "capacity must be between 1 and {MAX_CAPACITY}"
            )));
        }
        let mut record = ClassRecord {
            id: random_from(CODE_ALPHABET, 12),
            name,
            lessons,
            code: String::new(),
            starts_at,
            ends_at,
            capacity: new.capacity,
            created_at: SystemTime::now(),
            message: None,
        };
        // A clash of 49-bit codes is all but impossible; drawing again is the cure.
        loop {
            record.code = random_from(CODE_ALPHABET, CODE_LEN);
            if self.store.insert_class(&record)? {
                break;
            }
        }
        tracing::info!(class = %record.id, name = %record.name, "class created");
        self.view(record)
    }

    pub fn list(&self) -> Result<Vec<ClassView>, ClassError> {
        self.store
            .classes()?
            .into_iter()
            .map(|c| self.view(c))
            .collect()
    }

    fn record(&self, id: &str) -> Result<ClassRecord, ClassError> {
        self.store
            .class(id)?
            .ok_or_else(|| ClassError::NotFound(id.to_owned()))
    }

    pub fn get(&self, id: &str) -> Result<ClassView, ClassError> {
        self.view(self.record(id)?)
    }

    /// Closes the class: its code stops working and its members are free again.
    /// Sessions they started run on until they end.
    pub fn delete(&self, id: &str) -> Result<(), ClassError> {
        if !self.store.delete_class(id)? {
            return Err(ClassError::NotFound(id.to_owned()));
        }
        self.streams
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
        tracing::info!(class = %id, "class deleted");
        Ok(())
    }

    /// A learner joins the class whose code they typed, from `client` (an address,
    /// for the rate limit). Joining again renames them.
    pub fn join(
        &self,
        client: std::net::IpAddr,
        code: &str,
        learner: &str,
        name: &str,
        wanted: &Wanted,
    ) -> Result<MyClass, ClassError> {
        // Before anything else, so a guesser learns nothing once over the limit.
        self.limiter.check(client)?;
        let name = display_name(name)?;
        let class = self
            .store
            .class_by_code(&normalize_code(code))?
            .ok_or(ClassError::WrongCode)?;
        if class.ends_at.is_some_and(|end| end <= SystemTime::now()) {
            return Err(ClassError::Over(class.name));
        }
        if let Some(member) = self.store.member(learner)?
            && member.class != class.id
        {
            let other = self.store.class(&member.class)?;
            return Err(ClassError::InAnotherClass(
                other.map_or(member.class, |c| c.name),
            ));
        }
        let member = MemberRecord {
            class: class.id.clone(),
            learner: learner.to_owned(),
            name,
            joined_at: SystemTime::now(),
        };
        if !self.store.join_class(&member, class.capacity)? {
            return Err(ClassError::Full {
                name: class.name,
                capacity: class.capacity.unwrap_or_default(),
            });
        }
        tracing::info!(class = %class.id, learner, "learner joined the class");
        self.mine(learner, wanted)
    }

    /// The learner's class and membership, if they are in one.
    pub fn membership(
        &self,
        learner: &str,
    ) -> Result<Option<(ClassRecord, MemberRecord)>, ClassError> {
        let Some(member) = self.store.member(learner)? else {
            return Ok(None);
        };
        Ok(self
            .store
            .class(&member.class)?
            .map(|class| (class, member)))
    }

    /// The learner's class as they see it, its lessons' titles in the language
    /// `wanted`.
    pub fn mine(&self, learner: &str, wanted: &Wanted) -> Result<MyClass, ClassError> {
        let (class, member) = self.membership(learner)?.ok_or(ClassError::NotAMember)?;
        let catalog = self.catalog.get();
        let lessons = class
            .lessons
            .iter()
            .filter_map(|id| catalog.get(id))
            .map(|l| {
                let l = wanted.localize(l).lesson;
                ClassLesson {
                    id: l.id,
                    title: l.title,
                    description: l.description,
                    steps: l.steps.len(),
                }
            })
            .collect();
        Ok(MyClass {
            id: class.id,
            name: class.name,
            display_name: member.name,
            lessons,
            starts_at: class.starts_at.map(rfc3339),
            ends_at: class.ends_at.map(rfc3339),
            message: class.message.map(|(message, at)| Broadcast {
                message,
                at: rfc3339(at),
            }),
        })
    }

    /// Which class a new session of `lesson` belongs to: the learner's, if they are in
    /// one and it covers the lesson (else refused); `None` for a learner in no class.
    pub fn class_for_session(
        &self,
        learner: &str,
        lesson: &str,
    ) -> Result<Option<String>, ClassError> {
        match self.membership(learner)? {
            None => Ok(None),
            Some((class, _)) if class.lessons.iter().any(|l| l == lesson) => Ok(Some(class.id)),
            Some((class, _)) => Err(ClassError::LessonNotInClass {
                lesson: lesson.to_owned(),
                class: class.name,
            }),
        }
    }

    /// The class's broadcast stream (for its members' pages).
    pub fn stream(&self, class: &str) -> Arc<EventLog> {
        self.streams
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(class.to_owned())
            .or_default()
            .clone()
    }

    /// Sends the instructor's message to every member's page, and keeps it for those
    /// who open theirs later.
    pub fn broadcast(&self, class: &str, message: &str) -> Result<Broadcast, ClassError> {
        let message =
            clean_text("message", message, MAX_MESSAGE).map_err(ClassError::BadMessage)?;
        let class = self.record(class)?;
        let now = SystemTime::now();
        self.store.set_class_message(&class.id, &message, now)?;
        let broadcast = Broadcast {
            message,
            at: rfc3339(now),
        };
        self.stream(&class.id).send(Event::Broadcast {
            message: broadcast.message.clone(),
            at: broadcast.at.clone(),
        });
        Ok(broadcast)
    }
}
