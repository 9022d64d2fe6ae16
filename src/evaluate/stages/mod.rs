//! One file per stage of a check, each judging the sandbox results the
//! pipeline in [`super::check`] hands it, in order.

pub(crate) mod discrimination;
pub(crate) mod generate;
pub(crate) mod plan;
pub(crate) mod prompt;
pub(crate) mod self_consistency;
pub(crate) mod solver;
pub(crate) mod static_stage;
