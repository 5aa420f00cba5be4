//! Activities, meetings and notifications: recordActivity's input, and the
//! types that report on them.

use async_graphql::{Context, Enum, Guard, ID, InputObject, Json, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::contact::{Contact, ContactInput, timestamp};
use super::error::{ApiError, ApiResult};
use super::field_policy::Reads;
use super::ids::{self, Kind};
use super::loaders;
use super::page::{Connection, Counted, Edge, Total, decode_cursor, encode_cursor, page_size};
use super::user::User;
use super::{principal, state};
use crate::domain::activity as domain;
use crate::domain::field_policy::ContactField as Field;
use crate::domain::validation;
use crate::domain::{ContactFields, ContactPatch, Email, PhoneRegion, ValidationError};
use crate::store::activities::{
    self, ActivityFilter as StoreFilter, ActivityPosition, ActivityRecord, MeetingRecord,
    NewActivity, NewMeeting,
};
use crate::store::contacts::ContactRecord;
use crate::store::notifications::{self, NotificationRecord};

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ActivityKind {
    Meeting,
    Chatbot,
    RoutingForm,
}
mirror_enum!(ActivityKind <=> domain::ActivityKind { Meeting, Chatbot, RoutingForm });

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum MeetingStatus {
    #[default]
    Scheduled,
    Rescheduled,
    Canceled,
}
mirror_enum!(MeetingStatus <=> domain::MeetingStatus { Scheduled, Rescheduled, Canceled });

/// Where the meeting's calendar event lives. Only GOOGLE and EXCHANGE
/// events are kept in sync when a contact's email changes.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum CalendarProvider {
    Google,
    Exchange,
    Icloud,
    Zoho,
    #[default]
    Other,
}
mirror_enum!(CalendarProvider <=> domain::CalendarProvider { Google, Exchange, Icloud, Zoho, Other });

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum NotificationChannel {
    Email,
    Sms,
}
mirror_enum!(NotificationChannel <=> domain::Channel { Email, Sms });

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum NotificationKind {
    Confirmation,
    Reminder,
}
mirror_enum!(NotificationKind <=> domain::NotificationKind { Confirmation, Reminder });

#[derive(InputObject)]
pub struct MeetingInput {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    #[graphql(default)]
    pub status: MeetingStatus,
    #[graphql(default)]
    pub calendar_provider: CalendarProvider,
    /// The event's id on its calendar; later activities with the same
    /// provider and id update the same meeting.
    pub external_event_id: Option<String>,
    pub host_user_id: Option<ID>,
    #[graphql(default)]
    pub guests: Vec<String>,
}

/// What a customer did, as the source reports it.
#[derive(InputObject)]
pub struct ActivityInput {
    pub kind: ActivityKind,
    /// The source's id for the activity: replaying it records nothing new.
    pub external_id: Option<String>,
    /// Defaults to now.
    pub occurred_at: Option<DateTime<Utc>>,
    /// What the customer typed; it needs an email or a mobile phone. Empty
    /// values never clear what the contact has.
    pub contact: ContactInput,
    /// Required for MEETING, refused otherwise.
    pub meeting: Option<MeetingInput>,
    /// Anything else the source knows.
    pub payload: Option<Json<serde_json::Value>>,
}

const EXTERNAL_ID_MAX: usize = 255;
const PAYLOAD_MAX_BYTES: usize = 64 * 1024;
const GUESTS_MAX: usize = 100;

/// Contact fields' errors, named by their place inside `ActivityInput`.
fn in_contact(err: ValidationError) -> ValidationError {
    ValidationError {
        field: Field::from_input_name(err.field).map_or("contact", in_contact_name),
        message: err.message,
    }
}

/// A contact field as named inside `ActivityInput`.
fn in_contact_name(field: Field) -> &'static str {
    match field {
        Field::FirstName => "contact.firstName",
        Field::LastName => "contact.lastName",
        Field::Email => "contact.email",
        Field::MobilePhone => "contact.mobilePhone",
        Field::Company => "contact.company",
        Field::JobTitle => "contact.jobTitle",
        Field::Timezone => "contact.timezone",
        Field::Owner => "contact.ownerId",
        Field::Team => "contact.teamId",
        Field::History => "contact",
    }
}

fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

impl ActivityInput {
    /// Recording an activity writes the contact's fields it brings: each
    /// must be one the caller's role may write (FORBIDDEN naming it).
    pub fn check_writable(&self, caller: &crate::domain::Principal) -> Result<(), ApiError> {
        self.contact.check_writable(caller, in_contact_name)
    }

    pub fn to_store(&self, region: PhoneRegion) -> Result<NewActivity, ApiError> {
        if !self.contact.owner_id.is_undefined() || !self.contact.team_id.is_undefined() {
            return Err(ApiError::validation(
                "contact.ownerId",
                "activities do not assign owners or teams",
            ));
        }
        let patch = ContactPatch::parse(&self.contact.raw_fields(), region).map_err(in_contact)?;
        let contact = ContactFields::default().patched(&patch).map_err(|_| {
            ApiError::validation(
                "contact",
                "an activity needs the customer's email or mobile phone",
            )
        })?;
        let external_id = self
            .external_id
            .as_deref()
            .map(|id| validation::text("externalId", id, EXTERNAL_ID_MAX))
            .transpose()?
            .flatten();
        let occurred_at = self
            .occurred_at
            .map(|at| domain::sane_moment("occurredAt", micros(at)))
            .transpose()?;
        let payload = self.payload.as_ref().map(|json| json.0.clone());
        if payload
            .as_ref()
            .is_some_and(|p| p.to_string().len() > PAYLOAD_MAX_BYTES)
        {
            return Err(ApiError::validation(
                "payload",
                "must be at most 64 KiB of JSON",
            ));
        }
        let meeting = match (self.kind, &self.meeting) {
            (ActivityKind::Meeting, Some(meeting)) => Some(meeting.to_store()?),
            (ActivityKind::Meeting, None) => {
                return Err(ApiError::validation(
                    "meeting",
                    "a MEETING activity needs its meeting",
                ));
            }
            (_, Some(_)) => {
                return Err(ApiError::validation(
                    "meeting",
                    "only MEETING activities have a meeting",
                ));
            }
            (_, None) => None,
        };
        Ok(NewActivity {
            kind: self.kind.into(),
            external_id,
            occurred_at,
            contact,
            meeting,
            payload,
        })
    }
}

impl MeetingInput {
    fn to_store(&self) -> Result<NewMeeting, ApiError> {
        let times = domain::MeetingTimes::new(micros(self.starts_at), micros(self.ends_at))?;
        if self.guests.len() > GUESTS_MAX {
            return Err(ApiError::validation(
                "meeting.guests",
                format!("at most {GUESTS_MAX}"),
            ));
        }
        let guests = self
            .guests
            .iter()
            .map(|g| Email::parse("meeting.guests", g))
            .collect::<Result<Vec<_>, _>>()?;
        let external_event_id = self
            .external_event_id
            .as_deref()
            .map(|id| validation::text("meeting.externalEventId", id, EXTERNAL_ID_MAX))
            .transpose()?
            .flatten();
        Ok(NewMeeting {
            times,
            status: self.status.into(),
            provider: self.calendar_provider.into(),
            external_event_id,
            host_user_id: self
                .host_user_id
                .as_ref()
                .map(|id| ids::decode_required("meeting.hostUserId", Kind::User, id))
                .transpose()?,
            guests,
        })
    }
}

/// The identifying data the customer typed, as recorded.
pub struct ActivitySubmission(activities::Submitted);

#[Object]
impl ActivitySubmission {
    #[graphql(guard = "Reads(Field::FirstName)")]
    async fn first_name(&self) -> Option<&str> {
        self.0.first_name.as_deref()
    }

    #[graphql(guard = "Reads(Field::LastName)")]
    async fn last_name(&self) -> Option<&str> {
        self.0.last_name.as_deref()
    }

    #[graphql(guard = "Reads(Field::Email)")]
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }

    #[graphql(guard = "Reads(Field::MobilePhone)")]
    async fn mobile_phone(&self) -> Option<&str> {
        self.0.mobile_phone.as_deref()
    }

    #[graphql(guard = "Reads(Field::Company)")]
    async fn company(&self) -> Option<&str> {
        self.0.company.as_deref()
    }
}

async fn accessible_contact(ctx: &Context<'_>, id: Option<i64>) -> ApiResult<Option<Contact>> {
    let caller = principal(ctx)?;
    let found: Option<ContactRecord> = loaders::load_opt(ctx, id).await?;
    Ok(found
        .filter(|c| caller.can_access(c.owner_id, c.team_id))
        .map(Contact))
}

pub struct Activity(pub ActivityRecord);

#[Object]
impl Activity {
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Activity, self.0.id)
    }

    async fn kind(&self) -> ActivityKind {
        self.0.kind.into()
    }

    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }

    async fn occurred_at(&self) -> DateTime<Utc> {
        timestamp(self.0.occurred_at)
    }

    /// The contact, while it exists and the caller can access it; null once
    /// the contact is deleted (the activity stays for reporting).
    async fn contact(&self, ctx: &Context<'_>) -> ApiResult<Option<Contact>> {
        accessible_contact(ctx, self.0.contact_id).await
    }

    /// True when the typed mobile phone belonged to another contact than
    /// the email's; nothing was merged.
    async fn identity_conflict(&self) -> bool {
        self.0.conflicting_contact_id.is_some()
    }

    /// The other contact of an identity conflict, if the caller can access it.
    async fn conflicting_contact(&self, ctx: &Context<'_>) -> ApiResult<Option<Contact>> {
        accessible_contact(ctx, self.0.conflicting_contact_id).await
    }

    async fn meeting(&self, ctx: &Context<'_>) -> ApiResult<Option<Meeting>> {
        Ok(loaders::load_opt(ctx, self.0.meeting_id)
            .await?
            .map(Meeting))
    }

    async fn submitted(&self) -> ActivitySubmission {
        ActivitySubmission(self.0.submitted.clone())
    }

    async fn payload(&self) -> Option<Json<serde_json::Value>> {
        self.0.payload.clone().map(Json)
    }

    async fn created_at(&self) -> DateTime<Utc> {
        timestamp(self.0.created_at)
    }
}

pub struct Meeting(pub MeetingRecord);

#[Object]
impl Meeting {
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Meeting, self.0.id)
    }

    async fn starts_at(&self) -> DateTime<Utc> {
        timestamp(self.0.times.starts_at)
    }

    async fn ends_at(&self) -> DateTime<Utc> {
        timestamp(self.0.times.ends_at)
    }

    async fn status(&self) -> MeetingStatus {
        self.0.status.into()
    }

    async fn calendar_provider(&self) -> CalendarProvider {
        self.0.provider.into()
    }

    async fn external_event_id(&self) -> Option<&str> {
        self.0.external_event_id.as_deref()
    }

    /// Who hosts it: like a contact's owner, it says who works with whom.
    #[graphql(guard = "Reads(Field::Owner)")]
    async fn host(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        Ok(loaders::load_opt(ctx, self.0.host_user_id).await?.map(User))
    }

    #[graphql(guard = "Reads(Field::Email)")]
    async fn guests(&self) -> &[String] {
        &self.0.guests
    }

    /// Confirmation and reminders, with where each goes and how it went.
    async fn notifications(&self, ctx: &Context<'_>) -> ApiResult<Vec<Notification>> {
        let rows: Vec<NotificationRecord> =
            loaders::load(ctx, self.0.id).await?.unwrap_or_default();
        Ok(rows.into_iter().map(Notification).collect())
    }
}

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum NotificationStatus {
    Pending,
    Sent,
    Failed,
    Canceled,
}
mirror_enum!(NotificationStatus <=> notifications::NotificationStatus { Pending, Sent, Failed, Canceled });

pub struct Notification(pub NotificationRecord);

impl Notification {
    fn address_field(&self) -> Field {
        match domain::Channel::parse(&self.0.channel) {
            Some(domain::Channel::Sms) => Field::MobilePhone,
            _ => Field::Email,
        }
    }
}

#[Object]
impl Notification {
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Notification, self.0.id)
    }

    async fn kind(&self) -> Option<NotificationKind> {
        domain::NotificationKind::parse(&self.0.kind).map(Into::into)
    }

    async fn channel(&self) -> Option<NotificationChannel> {
        domain::Channel::parse(&self.0.channel).map(Into::into)
    }

    /// The address it goes to, copied when it was planned: an email or a
    /// mobile phone, read under that field's policy.
    async fn recipient(&self, ctx: &Context<'_>) -> Result<&str> {
        Reads(self.address_field()).check(ctx).await?;
        Ok(&self.0.recipient)
    }

    async fn due_at(&self) -> DateTime<Utc> {
        timestamp(self.0.due_at)
    }

    async fn status(&self) -> NotificationStatus {
        self.0.status.into()
    }

    async fn attempts(&self) -> i32 {
        self.0.attempts
    }

    /// The transport's last refusal; it may quote the recipient.
    async fn last_error(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        Reads(self.address_field()).check(ctx).await?;
        Ok(self.0.last_error.as_deref())
    }

    async fn sent_at(&self) -> Option<DateTime<Utc>> {
        self.0.sent_at.map(timestamp)
    }
}

#[derive(SimpleObject)]
pub struct RecordActivityPayload {
    pub activity: Activity,
    /// The contact the activity was recorded against.
    pub contact: Option<Contact>,
    /// Whether the activity created the contact.
    pub created: bool,
}

#[derive(InputObject, Default)]
pub struct ActivityFilter {
    pub kind: Option<ActivityKind>,
    pub contact_id: Option<ID>,
    /// Occurred at or after.
    pub from: Option<DateTime<Utc>>,
    /// Occurred before.
    pub to: Option<DateTime<Utc>>,
}

impl ActivityFilter {
    pub fn to_store(&self) -> Result<StoreFilter, ApiError> {
        Ok(StoreFilter {
            kind: self.kind.map(Into::into),
            contact_id: self
                .contact_id
                .as_ref()
                .map(|id| ids::decode_required("contactId", Kind::Contact, id))
                .transpose()?,
            from: self.from.map(micros),
            to: self.to.map(micros),
        })
    }
}

/// The activities a filter finds among those the caller sees.
pub struct ActivityTotal(StoreFilter);

impl Total for ActivityTotal {
    async fn total(&self, ctx: &Context<'_>) -> ApiResult<Counted> {
        let db = state(ctx)?.store.db();
        Ok(Counted::exact(
            activities::count(db, principal(ctx)?, &self.0).await?,
        ))
    }
}

pub type ActivityConnection = Connection<Activity, ActivityTotal>;

/// A page of the activities the caller sees, newest first.
pub async fn activity_page(
    ctx: &Context<'_>,
    first: Option<i32>,
    after: Option<String>,
    filter: StoreFilter,
) -> ApiResult<ActivityConnection> {
    let limit = page_size(first)?;
    let after = after
        .as_deref()
        .map(decode_cursor::<ActivityPosition>)
        .transpose()?;
    let rows = activities::page(
        state(ctx)?.store.db(),
        principal(ctx)?,
        &filter,
        after,
        limit + 1,
    )
    .await?;
    Ok(Connection::from_rows(
        rows,
        limit,
        ActivityTotal(filter),
        |record| Edge {
            cursor: encode_cursor(&ActivityPosition {
                occurred_at: record.occurred_at,
                id: record.id,
            }),
            node: Activity(record),
        },
    ))
}
