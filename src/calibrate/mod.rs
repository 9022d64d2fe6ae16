//! `bootforge calibrate`: settings of a bootcamp's constructor parameters
//! whose solver accuracy reaches each target.
//!
//! [`search`] decides, purely, which setting to measure next; this module
//! measures it: generates the cases in the sandbox at that setting (timing
//! each), asks the solver through the campaign call router (content-addressed
//! calls stored as they finish, so a killed calibration resumes without
//! repeating one), grades the answers with the bootcamp's own `verify_score`
//! and stores the probe.

pub mod search;
