//! [`NodeFile`], the one form in which anything lands on a node.
//!
//! A leaf, so that the PKI generator can produce node files without importing the plan
//! that calls it.

/// A file to place in a node: lesson assets and PKI files alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeFile {
    /// Absolute path inside the node.
    pub path: String,
    pub contents: Vec<u8>,
    /// Unix permission bits.
    pub mode: u32,
}
