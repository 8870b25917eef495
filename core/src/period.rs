//! Calendar periods: hour, day, ISO week and month (with a reset day), in any time zone.

/// The length of a period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PeriodKind {
    /// A clock hour.
    Hour,
    /// A calendar day.
    Day,
    /// An ISO week, Monday to Sunday.
    Week,
    /// A month, starting on `reset_day`.
    Month,
}

/// A period kind with its anchor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeriodSpec {
    /// Hour, day, week or month.
    pub kind: PeriodKind,
    /// Month only: the day of the month the period starts, 1..=31, clamped to the month's
    /// last day (31 in February = the 28th or 29th). 1 for other kinds.
    pub reset_day: u8,
}
