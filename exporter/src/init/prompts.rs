//! The questions, for a person at a terminal: each shows its default in brackets, checks the
//! answer as it is typed and asks again until it is acceptable. The secret is read with echo
//! off. Ctrl-C or a closed terminal ends the wizard without writing anything.

use dialoguer::theme::SimpleTheme;
use dialoguer::{Confirm, Input, Password};
use pve_traffic_core::period::PeriodKind;
use pve_traffic_core::rules::{Action, Direction};
use pve_traffic_core::secret::Secret;
use pve_traffic_core::vocabulary::Vocabulary;

use super::file::RuleSection;
use super::rule_answers as answers;

/// The wizard could not read an answer (terminal closed, interrupted).
#[derive(Debug)]
pub struct Interrupted(pub String);

/// Asks on the terminal.
pub struct Prompter {
    theme: SimpleTheme,
}

impl Prompter {
    /// Prompts in dialoguer's plain theme (no colours to confuse a screen reader or a log).
    pub fn new() -> Prompter {
        Prompter { theme: SimpleTheme }
    }

    /// A line of text, re-asked until `check` accepts it; `default` is taken on Enter.
    pub fn text<T>(
        &self,
        prompt: &str,
        default: &str,
        check: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, Interrupted> {
        let mut input = Input::<String>::with_theme(&self.theme)
            .with_prompt(prompt)
            .allow_empty(true)
            .validate_with(|s: &String| check(effective(s, default)).map(|_| ()));
        if !default.is_empty() {
            input = input.default(default.to_string()).show_default(true);
        }
        let answer = input.interact_text().map_err(interrupted)?;
        // Accepted by the validator just above.
        check(effective(&answer, default)).map_err(Interrupted)
    }

    /// A secret, typed without echo; re-asked while empty.
    pub fn secret(&self, prompt: &str) -> Result<Secret, Interrupted> {
        let s = Password::with_theme(&self.theme)
            .with_prompt(prompt)
            .interact()
            .map_err(interrupted)?;
        Ok(Secret::new(s.trim()))
    }

    /// Yes or no.
    pub fn confirm(&self, prompt: &str, default: bool) -> Result<bool, Interrupted> {
        Confirm::with_theme(&self.theme)
            .with_prompt(prompt)
            .default(default)
            .interact()
            .map_err(interrupted)
    }

    /// One quota rule, every answer checked; `taken` holds the rules so far (names are
    /// unique).
    pub fn rule(&self, taken: &[RuleSection]) -> Result<RuleSection, Interrupted> {
        let name = self.text("Rule name", "", |s| answers::name(s, taken))?;
        let period = self.text(
            &choices("Period", PeriodKind::NAMES),
            PeriodKind::Month.as_str(),
            answers::word::<PeriodKind>,
        )?;
        let reset_day = if answers::is_month(&period) {
            Some(self.text(
                "Day of the month the period starts (1-31)",
                "1",
                answers::reset_day,
            )?)
        } else {
            None
        };
        let direction = self.text(
            &choices(
                "Traffic counted (rx = download, tx = upload, max = the larger)",
                Direction::NAMES,
            ),
            Direction::Both.as_str(),
            answers::word::<Direction>,
        )?;
        let limit = self.text(
            "Limit, with its unit (500GB, 1.5TB, 100GiB)",
            "",
            answers::limit,
        )?;
        let action = self.text(
            &choices("Action over the limit", Action::NAMES),
            Action::Notify.as_str(),
            answers::word::<Action>,
        )?;
        let rate_limit_mb = if action == Action::RateLimit.as_str() {
            Some(self.text("Rate per NIC, MB/s", "10", answers::rate)?)
        } else {
            None
        };
        let vm_ids = self.text("VMIDs it applies to (empty = all)", "", answers::vmids)?;
        let vm_tags = self.text("Tags that select guests (empty = no tag filter)", "", |s| {
            Ok::<_, String>(answers::tags(s))
        })?;
        let exclude_vm_ids =
            self.text("VMIDs never affected (empty = none)", "", answers::vmids)?;
        Ok(RuleSection {
            name,
            enabled: true,
            period,
            reset_day,
            direction,
            limit,
            action,
            rate_limit_mb,
            vm_ids,
            vm_tags,
            exclude_vm_ids,
        })
    }
}

/// The answer, or the default when the answer is empty.
fn effective<'a>(answer: &'a str, default: &'a str) -> &'a str {
    if answer.trim().is_empty() {
        default
    } else {
        answer
    }
}

/// `Period (hour, day, week, month)`.
fn choices(prompt: &str, allowed: &[&str]) -> String {
    format!("{prompt} ({})", allowed.join(", "))
}

fn interrupted(e: dialoguer::Error) -> Interrupted {
    Interrupted(format!("no answer ({e}); nothing was written"))
}
