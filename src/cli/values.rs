//! The command line's spelling of domain choices. The domain types derive
//! no clap traits (clap stays in `cli`); each mirror here has the same
//! variants, names and help, and converts into its domain type.

use crate::eval::synth::Keep;
use crate::evaluate::ThinkMode;
use crate::export::generate::{Format, PandasLike};
use crate::review::ItemStatus;

/// A clap value enum with a `From` into the domain type of the same variants.
macro_rules! mirror {
    ($(#[$meta:meta])* $name:ident => $domain:ident { $($(#[$vmeta:meta])* $variant:ident,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl From<$name> for $domain {
            fn from(value: $name) -> Self {
                match value {
                    $($name::$variant => $domain::$variant,)*
                }
            }
        }
    };
}

mirror! {
    /// How reasoning is treated when grading solver answers ([`ThinkMode`]).
    ThinkArg => ThinkMode {
        /// Require a `<think>` block (`format_penalty`) when the solver produced
        /// reasoning (separately or inline), not for plain models.
        Auto,
        /// Always grade with `format_penalty`.
        On,
        /// Never grade with `format_penalty`.
        Off,
    }
}

mirror! {
    /// The record layout ([`Format`]).
    FormatArg => Format {
        /// `{"data_source", "prompt", "ground_truth"}`, as InternBootcamp's
        /// data pipeline writes them.
        Internbootcamp,
        /// verl's RL records (chat prompt, rule reward model, extra info).
        Verl,
    }
}

mirror! {
    /// Whose Parquet a `.parquet` output matches ([`PandasLike`]).
    PandasArg => PandasLike {
        Pandas3,
        Pandas2,
    }
}

mirror! {
    /// Which passing answers of a record are kept ([`Keep`]).
    KeepArg => Keep {
        /// Every distinct passing answer.
        All,
        /// The passing answer of the lowest sample.
        First,
        /// The shortest passing answer (reasoning included).
        Shortest,
    }
}

mirror! {
    /// A review item's status ([`ItemStatus`]). The variants carry no help,
    /// so `--help` lists the names on one line as before.
    ItemStatusArg => ItemStatus {
        Pending,
        Approved,
        Rejected,
        Revise,
    }
}

#[cfg(test)]
mod tests {
    use clap::ValueEnum;
    use serde::Serialize;

    use super::*;

    /// Every command-line name is the name the domain value is stored and
    /// reported under, so a flag and a report never disagree.
    fn same_names<A: ValueEnum + Copy, D: From<A> + Serialize>() {
        for value in A::value_variants() {
            let flag = value.to_possible_value().unwrap().get_name().to_owned();
            let stored = serde_json::to_value(D::from(*value)).unwrap();
            assert_eq!(stored, serde_json::Value::String(flag));
        }
    }

    #[test]
    fn flags_name_domain_values_as_reports_do() {
        same_names::<ThinkArg, ThinkMode>();
        same_names::<FormatArg, Format>();
        same_names::<PandasArg, PandasLike>();
        same_names::<KeepArg, Keep>();
        same_names::<ItemStatusArg, ItemStatus>();
        assert_eq!(ItemStatusArg::value_variants().len(), ItemStatus::ALL.len());
        assert_eq!(KeepArg::value_variants().len(), 3);
    }
}
