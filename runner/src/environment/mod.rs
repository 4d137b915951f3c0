//! The backend-neutral plan of an environment: what starting a lesson's environment
//! means, whatever runs it.
//!
//! [`Plan`] checks a lesson before anything starts (node names are DNS labels, there is
//! a node, a privileged node is allowed), and says which files each node receives
//! (assets from disk, the session PKI issued for the nodes' names and addresses).
//! `run_setup` runs setup scripts in order with progress lines: a lesson's background
//! setup while its environment starts, and the self-test's scripts. The crate's
//! backends carry a plan out through one sequence (`start`), and implement only what
//! is their own: where nodes live and how a file lands on one.
//!
//! The "foreground or not" split of a lesson's setup scripts is decided here once
//! (`background_setup`, `foreground_setup`): background scripts run while the
//! environment starts; foreground scripts are typed in the learner's terminal once the
//! session is ready, which is the server's business; [`PageScripts`] says which
//! scripts a learner's arrival on a page starts, and where each runs.

pub(crate) mod file;
mod plan;
mod setup;
mod start;

pub use file::NodeFile;
pub(crate) use plan::foreground_setup;
pub use plan::{PageScripts, Plan, replay_to};
pub use setup::DEFAULT_SETUP_TIMEOUT;
pub use setup::run_setup;
pub(crate) use start::{Provision, start};
