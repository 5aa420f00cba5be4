//! What customers do (schedule a meeting, talk to a chatbot, fill a routing
//! form), and the notifications a scheduled meeting plans.

use std::ops::RangeInclusive;
use std::time::Duration;

use chrono::Datelike;

use super::identity::{Email, Phone};
use super::validation::ValidationError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivityKind {
    Meeting,
    Chatbot,
    RoutingForm,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeetingStatus {
    Scheduled,
    Rescheduled,
    Canceled,
}

/// Where a meeting's calendar event lives. Only Google and Exchange events
/// are kept in sync with contact changes; the rest are left alone on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalendarProvider {
    Google,
    Exchange,
    Icloud,
    Zoho,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
    Sms,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationKind {
    Confirmation,
    Reminder,
}

/// Lets each enum above be stored as its GraphQL name.
macro_rules! stored_names {
    ($ty:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $name),+ }
            }

            pub fn parse(stored: &str) -> Option<Self> {
                match stored { $($name => Some($ty::$variant),)+ _ => None }
            }
        }
    };
}

stored_names!(ActivityKind { Meeting => "MEETING", Chatbot => "CHATBOT", RoutingForm => "ROUTING_FORM" });
stored_names!(MeetingStatus { Scheduled => "SCHEDULED", Rescheduled => "RESCHEDULED", Canceled => "CANCELED" });
stored_names!(CalendarProvider {
    Google => "GOOGLE",
    Exchange => "EXCHANGE",
    Icloud => "ICLOUD",
    Zoho => "ZOHO",
    Other => "OTHER",
});
stored_names!(Channel { Email => "EMAIL", Sms => "SMS" });
stored_names!(NotificationKind { Confirmation => "CONFIRMATION", Reminder => "REMINDER" });

impl ActivityKind {
    pub fn source(self) -> super::Source {
        match self {
            ActivityKind::Meeting => super::Source::Meeting,
            ActivityKind::Chatbot => super::Source::Chatbot,
            ActivityKind::RoutingForm => super::Source::RoutingForm,
        }
    }
}

/// The years a moment of an activity or meeting may fall in (UTC), both
/// included. Outside them a date is a typo or a probe (year -1 was taken),
/// and clients, calendars and reminder arithmetic need not cope with it.
pub const SANE_YEARS: RangeInclusive<i32> = 1900..=2200;

/// `micros` (since the epoch), refused on `field` outside [`SANE_YEARS`].
pub fn sane_moment(field: &'static str, micros: i64) -> Result<i64, ValidationError> {
    let year = chrono::DateTime::from_timestamp_micros(micros).map(|at| at.year());
    if year.is_some_and(|year| SANE_YEARS.contains(&year)) {
        Ok(micros)
    } else {
        Err(ValidationError::new(
            field,
            format!(
                "must fall in the years {} to {}",
                SANE_YEARS.start(),
                SANE_YEARS.end()
            ),
        ))
    }
}

/// A meeting's time span in microseconds since the epoch, end after start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeetingTimes {
    pub starts_at: i64,
    pub ends_at: i64,
}

impl MeetingTimes {
    pub fn new(starts_at: i64, ends_at: i64) -> Result<Self, ValidationError> {
        sane_moment("meeting.startsAt", starts_at)?;
        sane_moment("meeting.endsAt", ends_at)?;
        if ends_at <= starts_at {
            return Err(ValidationError::new(
                "meeting.endsAt",
                "must be after meeting.startsAt",
            ));
        }
        Ok(Self { starts_at, ends_at })
    }
}

/// A notification to send: to whom, through what, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedNotification {
    pub kind: NotificationKind,
    pub channel: Channel,
    pub recipient: String,
    pub due_at: i64,
}

/// Reads reminder offsets like `24h,1h,15m,30s` (d, h, m, s units).
pub fn parse_offsets(text: &str) -> Result<Vec<Duration>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (number, unit) = part.split_at(part.len() - 1);
            let number: u64 = number
                .parse()
                .map_err(|_| format!("{part:?} is not an offset like 24h, 15m or 30s"))?;
            let seconds = match unit {
                "d" => number * 86_400,
                "h" => number * 3_600,
                "m" => number * 60,
                "s" => number,
                _ => return Err(format!("{part:?} needs a unit: d, h, m or s")),
            };
            Ok(Duration::from_secs(seconds))
        })
        .collect()
}

/// The notifications a newly scheduled (or rescheduled) meeting sends: a
/// confirmation now, and a reminder `offset` before the start for each
/// offset still in the future; each by email and by SMS as the contact has
/// them. Each carries its own recipient, copied now.
pub fn plan_notifications(
    times: MeetingTimes,
    now: i64,
    offsets: &[Duration],
    email: Option<&Email>,
    phone: Option<&Phone>,
    with_confirmation: bool,
) -> Vec<PlannedNotification> {
    let mut moments = Vec::new();
    if with_confirmation {
        moments.push((NotificationKind::Confirmation, now));
    }
    for offset in offsets {
        let due_at = times.starts_at - i64::try_from(offset.as_micros()).unwrap_or(i64::MAX);
        if due_at > now {
            moments.push((NotificationKind::Reminder, due_at));
        }
    }
    let mut recipients = Vec::new();
    if let Some(email) = email {
        recipients.push((Channel::Email, email.as_str().to_owned()));
    }
    if let Some(phone) = phone {
        recipients.push((Channel::Sms, phone.as_str().to_owned()));
    }
    moments
        .into_iter()
        .flat_map(|(kind, due_at)| {
            recipients
                .iter()
                .map(move |(channel, recipient)| PlannedNotification {
                    kind,
                    channel: *channel,
                    recipient: recipient.clone(),
                    due_at,
                })
        })
        .collect()
}

/// The words of a notification, fixed when it is planned.
pub fn message(kind: NotificationKind, times: MeetingTimes) -> (String, String) {
    let when = chrono::DateTime::from_timestamp_micros(times.starts_at)
        .map(|t| t.format("%A %-d %B %Y, %H:%M UTC").to_string())
        .unwrap_or_default();
    match kind {
        NotificationKind::Confirmation => (
            "Your meeting is confirmed".to_owned(),
            format!("Your meeting is scheduled for {when}."),
        ),
        NotificationKind::Reminder => (
            "Reminder: your upcoming meeting".to_owned(),
            format!("This is a reminder of your meeting on {when}."),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: i64 = 1_000_000;

    /// Microseconds at the start of `year`, UTC.
    fn year_start(year: i32) -> i64 {
        chrono::NaiveDate::from_ymd_opt(year, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp_micros()
    }

    #[test]
    fn end_before_start_names_the_field() {
        assert_eq!(
            MeetingTimes::new(10, 5).unwrap_err().field,
            "meeting.endsAt"
        );
    }

    #[test]
    fn moments_fall_in_sane_years() {
        for year in [1900, 1970, 2026, 2200] {
            assert!(
                sane_moment("occurredAt", year_start(year)).is_ok(),
                "{year}"
            );
        }
        let last = year_start(2201) - 1;
        assert!(sane_moment("occurredAt", last).is_ok());
        for at in [
            year_start(1899),
            year_start(1900) - 1,
            year_start(2201),
            year_start(-1),
            year_start(0),
            year_start(9999),
            i64::MIN,
            i64::MAX,
        ] {
            assert_eq!(
                sane_moment("occurredAt", at).unwrap_err().field,
                "occurredAt"
            );
        }
    }

    #[test]
    fn meeting_times_name_the_moment_out_of_range() {
        let now = year_start(2026);
        assert_eq!(
            MeetingTimes::new(year_start(-1), now).unwrap_err().field,
            "meeting.startsAt"
        );
        assert_eq!(
            MeetingTimes::new(now, year_start(3000)).unwrap_err().field,
            "meeting.endsAt"
        );
    }

    #[test]
    fn offsets_parse_with_units() {
        assert_eq!(
            parse_offsets("1d, 2h,15m,30s").unwrap(),
            [86_400, 7_200, 900, 30].map(Duration::from_secs)
        );
        assert!(parse_offsets("10").is_err());
        assert!(parse_offsets("xh").is_err());
    }

    #[test]
    fn reminders_in_the_past_are_not_planned() {
        let times = MeetingTimes::new(100 * SECOND, 200 * SECOND).unwrap();
        let email = Email::parse("email", "a@example.com").unwrap();
        let plan = plan_notifications(
            times,
            50 * SECOND,
            &[Duration::from_secs(10), Duration::from_secs(60)],
            Some(&email),
            None,
            true,
        );
        assert_eq!(
            plan.iter().map(|p| (p.kind, p.due_at)).collect::<Vec<_>>(),
            [
                (NotificationKind::Confirmation, 50 * SECOND),
                (NotificationKind::Reminder, 90 * SECOND)
            ]
        );
    }

    #[test]
    fn each_moment_goes_to_every_channel_the_contact_has() {
        let times = MeetingTimes::new(100 * SECOND, 200 * SECOND).unwrap();
        let email = Email::parse("email", "a@example.com").unwrap();
        let phone = Phone::parse("mobilePhone", "+14155550100", Default::default()).unwrap();
        let plan = plan_notifications(
            times,
            0,
            &[Duration::from_secs(10)],
            Some(&email),
            Some(&phone),
            false,
        );
        assert_eq!(plan.len(), 2);
        assert_eq!(plan[1].channel, Channel::Sms);
        assert_eq!(plan[1].recipient, "+14155550100");
    }
}
