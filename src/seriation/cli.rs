//! CLI (to be filled).
