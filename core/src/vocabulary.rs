//! Closed sets of words operators type: periods, directions, actions.
//!
//! Each word is spelled once, in the [`vocabulary!`](crate::vocabulary!) that defines its
//! enum; the config loader, the command lines, the init wizard, the metric labels and the
//! reports all take the names from there ([`Vocabulary::ALL`], [`Vocabulary::NAMES`]), so a
//! name the config accepts is exactly a name the wizard offers and a label the metrics show.

use std::fmt;

/// A closed set of names, each standing for one value of `Self`.
pub trait Vocabulary: Copy + Eq + 'static {
    /// What one word names, for messages: `period`, `direction`, `action`.
    const WHAT: &'static str;
    /// Every value, in the order it is offered to people.
    const ALL: &'static [Self];
    /// The names of [`Vocabulary::ALL`], in the same order.
    const NAMES: &'static [&'static str];

    /// The name of this value, as config, command lines and metric labels spell it.
    fn name(self) -> &'static str;

    /// The value named exactly `s` (no trimming, no case folding); the error lists
    /// [`Vocabulary::NAMES`].
    fn from_name(s: &str) -> Result<Self, UnknownName> {
        Self::ALL
            .iter()
            .copied()
            .find(|v| v.name() == s)
            .ok_or_else(|| UnknownName {
                what: Self::WHAT,
                found: s.to_string(),
                expected: Self::NAMES,
            })
    }
}

/// A name that is not in a vocabulary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownName {
    /// What the name should have named (`period`, …).
    pub what: &'static str,
    /// The name as given.
    pub found: String,
    /// Every accepted name.
    pub expected: &'static [&'static str],
}

impl fmt::Display for UnknownName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown {} {:?}: expected one of {}",
            self.what,
            self.found,
            quoted_list(self.expected)
        )
    }
}

impl std::error::Error for UnknownName {}

/// "`a`, `b`, `c`": names for a message.
pub fn quoted_list(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    quoted.join(", ")
}

/// Defines a vocabulary enum: its variants with their names, and [`Vocabulary`], `as_str`,
/// `parse`, [`std::str::FromStr`] and [`std::fmt::Display`] from that one table. The enum
/// must derive at least `Clone, Copy, PartialEq, Eq`.
#[macro_export]
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($what:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $word:literal, )+
        }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in the order it is offered to people.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name config, command lines and metric labels use.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $word, )+
                }
            }

            /// The value named exactly `s`; the error lists every name.
            pub fn parse(s: &str) -> Result<$name, $crate::vocabulary::UnknownName> {
                <$name as $crate::vocabulary::Vocabulary>::from_name(s)
            }
        }

        impl $crate::vocabulary::Vocabulary for $name {
            const WHAT: &'static str = $what;
            const ALL: &'static [$name] = &[$($name::$variant),+];
            const NAMES: &'static [&'static str] = &[$($word),+];

            fn name(self) -> &'static str {
                self.as_str()
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::vocabulary::UnknownName;

            fn from_str(s: &str) -> Result<$name, Self::Err> {
                $name::parse(s)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::period::PeriodKind;
    use crate::rules::{Action, Direction};

    /// Every value reads back from its name, by every route, and the names are distinct.
    fn round_trips<V: Vocabulary + std::fmt::Debug + std::str::FromStr<Err = UnknownName>>() {
        let names: Vec<&str> = V::ALL.iter().map(|v| v.name()).collect();
        assert_eq!(names, V::NAMES);
        for &v in V::ALL {
            assert_eq!(V::from_name(v.name()), Ok(v));
            assert_eq!(v.name().parse::<V>(), Ok(v));
        }
        let mut distinct = names.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), names.len(), "{names:?}");
    }

    #[test]
    fn every_vocabulary_round_trips() {
        round_trips::<PeriodKind>();
        round_trips::<Direction>();
        round_trips::<Action>();
        assert_eq!(Action::RateLimit.to_string(), "rate_limit");
    }

    #[test]
    fn an_unknown_name_lists_the_choices() {
        assert_eq!(
            Direction::parse("download").unwrap_err().to_string(),
            "unknown direction \"download\": expected one of `both`, `rx`, `tx`, `max`"
        );
        assert_eq!(
            "Stop".parse::<Action>().unwrap_err().to_string(),
            "unknown action \"Stop\": expected one of `shutdown`, `stop`, `disconnect`, \
             `rate_limit`, `notify`"
        );
    }
}
