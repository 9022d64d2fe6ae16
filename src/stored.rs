//! Enums stored as TEXT: one spelling for the database (through sqlx),
//! JSON (serde) and the terminal (`Display`). A stored value this build does
//! not know (a database written by a newer version, or edited by hand)
//! fails to decode with an error naming the value and the column, never a
//! panic.

use std::fmt;

/// A text that names none of an enum's values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownValue {
    /// What the enum is (`task status`, ...).
    pub kind: &'static str,
    pub value: String,
    /// Every value it knows.
    pub expected: &'static [&'static str],
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown {} {:?} (expected one of: {})",
            self.kind,
            self.value,
            self.expected.join(", ")
        )
    }
}

impl std::error::Error for UnknownValue {}

/// Declare an enum stored as TEXT. The spelling of each variant is given
/// once, and serde and sqlx are told to use the same snake_case form; a
/// unit test per enum checks that the three agree.
macro_rules! stored_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident as $kind:literal {
            $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, sqlx::Type,
        )]
        #[serde(rename_all = "snake_case")]
        #[sqlx(type_name = "TEXT", rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Every value as stored.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// As stored (and as shown).
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                // `pad`, so that width and alignment in format strings apply
                // as they did to the plain strings.
                f.pad(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::stored::UnknownValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::stored::UnknownValue {
                        kind: $kind,
                        value: s.to_owned(),
                        expected: $name::NAMES,
                    }),
                }
            }
        }
    };
}

/// Test helper: serde, sqlx, `as_str` and `FromStr` agree on every value
/// of a stored enum.
#[cfg(test)]
pub(crate) async fn assert_spellings<T>(all: &[T])
where
    T: Copy
        + fmt::Debug
        + fmt::Display
        + PartialEq
        + serde::Serialize
        + serde::de::DeserializeOwned
        + std::str::FromStr
        + for<'r> sqlx::Decode<'r, sqlx::Sqlite>
        + sqlx::Type<sqlx::Sqlite>
        + for<'q> sqlx::Encode<'q, sqlx::Sqlite>
        + Send
        + Sync
        + Unpin
        + 'static,
    <T as std::str::FromStr>::Err: fmt::Debug,
{
    use sqlx::Connection;
    let mut db = sqlx::SqliteConnection::connect("sqlite::memory:")
        .await
        .unwrap();
    for value in all {
        let text = value.to_string();
        assert_eq!(
            serde_json::to_value(value).unwrap(),
            serde_json::json!(text)
        );
        assert_eq!(
            serde_json::from_value::<T>(serde_json::json!(text)).unwrap(),
            *value
        );
        assert_eq!(text.parse::<T>().unwrap(), *value);
        let (stored, back): (String, T) = sqlx::query_as("SELECT ?1, ?1")
            .bind(*value)
            .fetch_one(&mut db)
            .await
            .unwrap();
        assert_eq!((stored.as_str(), back), (text.as_str(), *value));
    }
    let unknown: Result<(T,), _> = sqlx::query_as("SELECT 'no such value'")
        .fetch_one(&mut db)
        .await;
    let err = unknown.unwrap_err().to_string();
    assert!(err.contains("no such value"), "{err}");
    assert!("no such value".parse::<T>().is_err());
}
