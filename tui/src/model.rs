//! What the screens show, in the client's own terms. The generated GraphQL
//! types are converted into these at the edge (`api`), so components and
//! tests never depend on the shape of one particular query.

use std::fmt;

mod integrations;
mod merges;
mod policies;
mod users;

pub use integrations::{Delivery, DeliveryStatus, Integration};
pub use merges::{ContactRef, FieldChoice, MergeRecord, MergeSide, UndoneMerge};
pub use policies::{FieldAccess, FieldPolicy, FieldRights, PolicyField, PolicyMatrix};
pub use users::{ApiToken, IssuedToken, SavedUser, Secret, Team, User, UserEdit, UserQuery};

/// The editable fields of a contact, in the order the form shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactField {
    FirstName,
    LastName,
    Email,
    MobilePhone,
    Company,
    JobTitle,
    Timezone,
}

impl ContactField {
    pub const ALL: [ContactField; 7] = [
        ContactField::FirstName,
        ContactField::LastName,
        ContactField::Email,
        ContactField::MobilePhone,
        ContactField::Company,
        ContactField::JobTitle,
        ContactField::Timezone,
    ];

    /// The name in `ContactInput`; the server names fields this way in
    /// `extensions.field` and in merge previews.
    pub fn input_name(self) -> &'static str {
        match self {
            ContactField::FirstName => "firstName",
            ContactField::LastName => "lastName",
            ContactField::Email => "email",
            ContactField::MobilePhone => "mobilePhone",
            ContactField::Company => "company",
            ContactField::JobTitle => "jobTitle",
            ContactField::Timezone => "timezone",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ContactField::FirstName => "First name",
            ContactField::LastName => "Last name",
            ContactField::Email => "Email",
            ContactField::MobilePhone => "Mobile phone",
            ContactField::Company => "Company",
            ContactField::JobTitle => "Job title",
            ContactField::Timezone => "Time zone",
        }
    }

    pub fn from_input_name(name: &str) -> Option<ContactField> {
        ContactField::ALL
            .into_iter()
            .find(|field| field.input_name() == name)
    }

    /// A label for any field name the server sends, including ones this
    /// client does not edit (`ownerId`, `teamId`).
    pub fn label_of(name: &str) -> String {
        match ContactField::from_input_name(name) {
            Some(field) => field.label().to_owned(),
            None => match name {
                "ownerId" => "Owner".to_owned(),
                "teamId" => "Team".to_owned(),
                other => other.to_owned(),
            },
        }
    }
}

/// One row of the contact list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRow {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub mobile_phone: Option<String>,
    pub company: Option<String>,
    pub owner: Option<String>,
    pub updated_at: String,
}

/// One page of the contact list, as the server answered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactPage {
    pub rows: Vec<ContactRow>,
    pub total: i64,
    /// A search counts up to the server's cap: there are more than `total`.
    pub total_capped: bool,
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

/// A contact with everything the detail screen and the form need.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Contact {
    pub id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub mobile_phone: Option<String>,
    pub company: Option<String>,
    pub job_title: Option<String>,
    pub timezone: Option<String>,
    pub source: String,
    pub owner: Option<String>,
    pub team: Option<String>,
    pub merged_ids: Vec<String>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
    /// What the user may read and write of it (their field policies):
    /// what they may not read was not asked for, and is not shown (an
    /// owner left out is not "no owner"); the form edits what they may
    /// write.
    pub rights: FieldRights,
    pub history: Vec<HistoryEntry>,
    pub history_total: i64,
    /// The most recent activities, newest first.
    pub activities: Vec<RecentActivity>,
    pub activities_total: i64,
    /// The most recent merges into it, newest first, undone ones too.
    pub merges: Vec<MergeRecord>,
    pub merges_total: i64,
}

impl Contact {
    pub fn value(&self, field: ContactField) -> Option<&str> {
        match field {
            ContactField::FirstName => self.first_name.as_deref(),
            ContactField::LastName => self.last_name.as_deref(),
            ContactField::Email => self.email.as_deref(),
            ContactField::MobilePhone => self.mobile_phone.as_deref(),
            ContactField::Company => self.company.as_deref(),
            ContactField::JobTitle => self.job_title.as_deref(),
            ContactField::Timezone => self.timezone.as_deref(),
        }
    }

    pub fn display_name(&self) -> String {
        display_name(
            self.first_name.as_deref(),
            self.last_name.as_deref(),
            [self.email.as_deref(), self.mobile_phone.as_deref()],
        )
    }
}

/// An activity (meeting booked, chatbot talk, routing form) that named
/// this contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecentActivity {
    pub kind: String,
    pub occurred_at: String,
    /// For a meeting: when it starts and its status.
    pub meeting: Option<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub action: String,
    pub merged_contact_id: Option<String>,
    pub source: String,
    pub at: String,
    pub actor: Option<String>,
    pub changes: Vec<FieldChange>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// The answer to a save: done, or a merge waiting for confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaveOutcome {
    Saved { id: String },
    NeedsMerge(MergePreview),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergePreview {
    /// The contact that holds the identity and survives.
    pub survivor: PreviewContact,
    /// The contact absorbed; `None` when the save was a create.
    pub merged: Option<PreviewContact>,
    pub fields: Vec<FieldMerge>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewContact {
    pub id: String,
    pub name: String,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldMerge {
    pub field: String,
    pub current: Option<String>,
    pub incoming: Option<String>,
    pub outcome: MergeOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeOutcome {
    Filled,
    Overwritten,
    Retained,
    Unchanged,
    /// An outcome added to the schema after this client was built.
    Other(String),
}

impl fmt::Display for MergeOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MergeOutcome::Filled => f.write_str("FILLED"),
            MergeOutcome::Overwritten => f.write_str("OVERWRITTEN"),
            MergeOutcome::Retained => f.write_str("RETAINED"),
            MergeOutcome::Unchanged => f.write_str("UNCHANGED"),
            MergeOutcome::Other(other) => f.write_str(other),
        }
    }
}

/// The `source` filter of the list; `None` in the list state means all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Manual,
    Api,
    Import,
    Meeting,
    Chatbot,
    RoutingForm,
}

impl Source {
    pub const ALL: [Source; 6] = [
        Source::Manual,
        Source::Api,
        Source::Import,
        Source::Meeting,
        Source::Chatbot,
        Source::RoutingForm,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Source::Manual => "MANUAL",
            Source::Api => "API",
            Source::Import => "IMPORT",
            Source::Meeting => "MEETING",
            Source::Chatbot => "CHATBOT",
            Source::RoutingForm => "ROUTING_FORM",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    Name,
    CreatedAt,
    UpdatedAt,
}

impl SortField {
    pub fn label(self) -> &'static str {
        match self {
            SortField::Name => "name",
            SortField::CreatedAt => "created",
            SortField::UpdatedAt => "updated",
        }
    }

    pub fn next(self) -> SortField {
        match self {
            SortField::Name => SortField::CreatedAt,
            SortField::CreatedAt => SortField::UpdatedAt,
            SortField::UpdatedAt => SortField::Name,
        }
    }
}

/// Which contacts the list asks for and in what order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub search: String,
    pub source: Option<Source>,
    pub sort: SortField,
    pub ascending: bool,
    /// The columns asked for: what the user may read.
    pub fields: FieldRights,
}

impl Default for ListQuery {
    fn default() -> Self {
        Self {
            search: String::new(),
            source: None,
            sort: SortField::Name,
            ascending: true,
            fields: FieldRights::ALL,
        }
    }
}

/// The kind filter of the activities list; `None` in the list state means
/// all kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivityKind {
    Meeting,
    Chatbot,
    RoutingForm,
}

impl ActivityKind {
    pub const ALL: [ActivityKind; 3] = [
        ActivityKind::Meeting,
        ActivityKind::Chatbot,
        ActivityKind::RoutingForm,
    ];

    /// The schema's name, as the filter line shows it.
    pub fn name(self) -> &'static str {
        match self {
            ActivityKind::Meeting => "MEETING",
            ActivityKind::Chatbot => "CHATBOT",
            ActivityKind::RoutingForm => "ROUTING_FORM",
        }
    }

    /// All, then each kind in turn, then all again.
    pub fn cycle(current: Option<ActivityKind>) -> Option<ActivityKind> {
        match current {
            None => Some(ActivityKind::ALL[0]),
            Some(kind) => {
                let index = ActivityKind::ALL.iter().position(|k| *k == kind);
                ActivityKind::ALL.get(index.map_or(0, |i| i + 1)).copied()
            }
        }
    }
}

/// One row of the activities list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityRow {
    pub id: String,
    /// The schema's kind name (`MEETING`, ...).
    pub kind: String,
    pub occurred_at: String,
    pub external_id: Option<String>,
    pub identity_conflict: bool,
    /// The contact while it exists (and the caller can access it).
    pub contact: Option<ActivityContact>,
    /// The name the customer typed (or their email or phone), kept after
    /// the contact is deleted.
    pub submitted_name: String,
    pub meeting: Option<MeetingSummary>,
}

impl ActivityRow {
    /// The contact's name, or the submitted name marked as deleted.
    pub fn contact_label(&self) -> String {
        match &self.contact {
            Some(contact) => contact.name.clone(),
            None => format!("deleted contact ({})", self.submitted_name),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityContact {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingSummary {
    pub starts_at: String,
    /// The schema's status name (`SCHEDULED`, ...).
    pub status: String,
    pub calendar_provider: String,
}

/// One page of the activities list, as the server answered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityPage {
    pub rows: Vec<ActivityRow>,
    pub total: i64,
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

/// The signed-in user, from `me`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Me {
    pub name: String,
    pub role: Role,
    /// What they may do with each field, as the server says
    /// (`me.permissions`); `None` from a server that does not say.
    pub permissions: Option<FieldRights>,
}

impl Me {
    /// What the user may read and write: the server's word, else the
    /// default policies of the role.
    pub fn rights(&self) -> FieldRights {
        self.permissions
            .unwrap_or_else(|| FieldRights::defaults(&self.role))
    }
}

/// What the server lets a user do, by role (README, "Roles"). What they
/// may do with each field is in [`FieldRights`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Admin,
    Member,
    Viewer,
    Integration,
    /// A role added to the schema after this client was built: treated
    /// like a viewer, which asks for nothing it may be refused.
    Other(String),
}

impl Role {
    pub fn name(&self) -> &str {
        match self {
            Role::Admin => "ADMIN",
            Role::Member => "MEMBER",
            Role::Viewer => "VIEWER",
            Role::Integration => "INTEGRATION",
            Role::Other(other) => other,
        }
    }

    /// Create, edit and import contacts.
    pub fn may_write(&self) -> bool {
        matches!(self, Role::Admin | Role::Member | Role::Integration)
    }

    pub fn may_delete(&self) -> bool {
        matches!(self, Role::Admin | Role::Member)
    }

    /// Confirm a merge of two records, and undo one.
    pub fn may_merge(&self) -> bool {
        matches!(self, Role::Admin | Role::Member)
    }

    /// Users, tokens, integrations and field policies.
    pub fn may_administer(&self) -> bool {
        matches!(self, Role::Admin)
    }

    /// The roles a user can be given, in the order the screens cycle them.
    pub const ASSIGNABLE: [Role; 4] = [Role::Admin, Role::Member, Role::Viewer, Role::Integration];

    /// The next assignable role after this one, round.
    pub fn next(&self) -> Role {
        let index = Role::ASSIGNABLE.iter().position(|role| role == self);
        let next = index.map_or(0, |index| (index + 1) % Role::ASSIGNABLE.len());
        Role::ASSIGNABLE[next].clone()
    }

    /// The assignable role before this one, round.
    pub fn previous(&self) -> Role {
        let count = Role::ASSIGNABLE.len();
        let index = Role::ASSIGNABLE.iter().position(|role| role == self);
        let previous = index.map_or(0, |index| (index + count - 1) % count);
        Role::ASSIGNABLE[previous].clone()
    }
}

/// "First Last", or the email or phone when there is no name, so a row is
/// never blank.
pub fn display_name(
    first: Option<&str>,
    last: Option<&str>,
    fallbacks: [Option<&str>; 2],
) -> String {
    let name = [first, last]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if !name.is_empty() {
        return name;
    }
    fallbacks
        .into_iter()
        .flatten()
        .find(|value| !value.is_empty())
        .map(str::to_owned)
        .unwrap_or_else(|| "(no name)".to_owned())
}

/// `1234567` as `1,234,567`: counts on every screen read this way.
pub fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// `2025-11-30T04:29:01.123Z` as `2025-11-30 04:29`: minutes are enough on
/// a screen, and the server always sends RFC 3339 in UTC.
pub fn short_time(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..16)) {
        (Some(date), Some(time)) => format!("{date} {time}"),
        _ => rfc3339.to_owned(),
    }
}

/// Where an import job stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportStatus {
    /// The file is still being copied into the server's database.
    Uploading,
    Queued,
    Running,
    Succeeded,
    Failed,
    /// A status added to the schema after this client was built.
    Other(String),
}

impl ImportStatus {
    pub fn label(&self) -> &str {
        match self {
            ImportStatus::Uploading => "uploading",
            ImportStatus::Queued => "queued",
            ImportStatus::Running => "running",
            ImportStatus::Succeeded => "succeeded",
            ImportStatus::Failed => "failed",
            ImportStatus::Other(other) => other,
        }
    }
}

/// A CSV import running (or done) on the server, as the last poll saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportJob {
    pub id: String,
    pub status: ImportStatus,
    pub file_name: String,
    pub dry_run: bool,
    pub rows_read: i64,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub failed: i64,
    pub bytes_done: u64,
    pub bytes_total: u64,
    /// Why the whole job failed; failed rows are in `failed_rows`.
    pub error: Option<String>,
    pub ignored_columns: Vec<String>,
    /// The first failed rows, in file order; `failed` counts them all.
    pub failed_rows: Vec<ImportRowError>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

/// One page of a list the server pages (users, teams, tokens).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub rows: Vec<T>,
    pub total: i64,
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

/// One page of the jobs screen, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportJobPage {
    pub jobs: Vec<ImportJob>,
    pub total: i64,
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

impl ImportJob {
    /// Whether the job will change no more. A status this client does not
    /// know counts as finished once the server stamps `finishedAt`, so a
    /// newer server cannot leave the client polling forever.
    pub fn is_finished(&self) -> bool {
        matches!(self.status, ImportStatus::Succeeded | ImportStatus::Failed)
            || self.finished_at.is_some()
    }

    /// The share of the file behind the committed rows, from 0 to 1.
    pub fn progress(&self) -> f64 {
        if self.bytes_total == 0 {
            return if self.is_finished() { 1.0 } else { 0.0 };
        }
        let done = self.bytes_done.min(self.bytes_total);
        (done as f64 / self.bytes_total as f64).clamp(0.0, 1.0)
    }

    /// `created 2, updated 0, unchanged 0, failed 1,204`: as the command
    /// line prints it, in thousands.
    pub fn counts(&self) -> String {
        format!(
            "created {}, updated {}, unchanged {}, failed {}",
            grouped(self.created),
            grouped(self.updated),
            grouped(self.unchanged),
            grouped(self.failed)
        )
    }
}

/// Where `w` wrote a job's failed rows, and in which form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedReport {
    pub path: String,
    /// `true`: the imported file's own rows, its columns then `line` and
    /// `reason`, ready to fix and import again. `false`: the file was not
    /// where it was imported from, so the server's report (line, column,
    /// reason) was saved instead.
    pub original_rows: bool,
}

/// A row of the file that was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRowError {
    /// The line of the file the row starts on (the header is line 1).
    pub line: i64,
    /// The header of the column at fault, when one is.
    pub column: Option<String>,
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::grouped;

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_234_567), "1,234,567");
        assert_eq!(grouped(-1000), "-1,000");
    }
}
