//! Ready before the class starts: how many environments the warm pool holds for the
//! classes about to begin.
//!
//! A cold burst of a room pressing Start at 9:00 waits for Docker (200 cold 2-node
//! sessions take about 150 s on a 2-core host); environments started in the minutes
//! before hand each learner one in milliseconds. A class with a start time wants, from
//! `warmup` before its start until `warmup` after it, one environment of its first
//! lesson per expected learner (its capacity, or its members when it has none) who has
//! no session in the class yet. The session manager's pool carries the numbers out.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use super::{ClassBook, ClassError};
use crate::serve::store::ClassRecord;

/// One class as the warm-up sees it.
pub struct Expected<'a> {
    pub class: &'a ClassRecord,
    pub members: usize,
    /// Members who already have a session of the class.
    pub started: usize,
}

/// Environments wanted per lesson at `now`, summed over the classes in their warm-up.
pub fn reservations<'a>(
    classes: impl IntoIterator<Item = Expected<'a>>,
    now: SystemTime,
    warmup: Duration,
) -> HashMap<String, usize> {
    let mut wanted: HashMap<String, usize> = HashMap::new();
    for Expected {
        class,
        members,
        started,
    } in classes
    {
        let (Some(start), Some(lesson)) = (class.starts_at, class.lessons.first()) else {
            continue;
        };
        let from = start.checked_sub(warmup).unwrap_or(SystemTime::UNIX_EPOCH);
        let in_warmup = from <= now && now < start + warmup;
        let ended = class.ends_at.is_some_and(|end| end <= now);
        if !in_warmup || ended {
            continue;
        }
        let expected = class.capacity.unwrap_or(members).saturating_sub(started);
        if expected > 0 {
            *wanted.entry(lesson.clone()).or_default() += expected;
        }
    }
    wanted
}

impl ClassBook {
    /// [`reservations`] for every class at `now`; `started` says how many of a class's
    /// members already have a session in it.
    pub fn warm_reservations(
        &self,
        now: SystemTime,
        warmup: Duration,
        started: impl Fn(&str) -> usize,
    ) -> Result<HashMap<String, usize>, ClassError> {
        let classes = self.store.classes()?;
        let mut expected = Vec::with_capacity(classes.len());
        for class in &classes {
            expected.push(Expected {
                class,
                members: self.store.members(&class.id)?.len(),
                started: started(&class.id),
            });
        }
        Ok(reservations(expected, now, warmup))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(
        lessons: &[&str],
        start_min: Option<u64>,
        end_min: Option<u64>,
        capacity: Option<usize>,
    ) -> ClassRecord {
        let at = |m: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(m * 60);
        ClassRecord {
            id: "c".into(),
            name: "Day one".into(),
            lessons: lessons.iter().map(|l| (*l).to_owned()).collect(),
            code: "code".into(),
            starts_at: start_min.map(at),
            ends_at: end_min.map(at),
            capacity,
            created_at: at(0),
            message: None,
        }
    }

    /// The window, the expected size (capacity, else members, less those started), the
    /// first lesson only, classes summed per lesson, nothing for ended or timeless ones.
    #[test]
    fn a_class_reserves_its_first_lesson_around_its_start() {
        let warmup = Duration::from_secs(10 * 60);
        let at = |m: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(m * 60);
        let nine = class(&["pki", "etcd"], Some(540), Some(1020), Some(30));
        let no_capacity = class(&["pki"], Some(545), None, None);
        let timeless = class(&["etcd"], None, None, Some(5));
        let ended = class(&["etcd"], Some(500), Some(520), Some(5));
        let wanted = |now: u64, started: usize| {
            let all = [
                Expected {
                    class: &nine,
                    members: 3,
                    started,
                },
                Expected {
                    class: &no_capacity,
                    members: 4,
                    started: 1,
                },
                Expected {
                    class: &timeless,
                    members: 5,
                    started: 0,
                },
                Expected {
                    class: &ended,
                    members: 5,
                    started: 0,
                },
            ];
            let mut w: Vec<_> = reservations(all, at(now), warmup).into_iter().collect();
            w.sort();
            w
        };
        assert_eq!(wanted(520, 0), vec![], "before either warm-up");
        assert_eq!(
            wanted(530, 0),
            vec![("pki".to_owned(), 30)],
            "the 9:00 class's warm-up"
        );
        assert_eq!(
            wanted(536, 10),
            vec![("pki".to_owned(), 20 + 3)],
            "both, less those started"
        );
        assert_eq!(
            wanted(549, 30),
            vec![("pki".to_owned(), 3)],
            "a full class wants none"
        );
        assert_eq!(
            wanted(550, 0),
            vec![("pki".to_owned(), 3)],
            "the 9:00 warm-up is over"
        );
        assert_eq!(wanted(555, 0), vec![], "both over");
    }
}
