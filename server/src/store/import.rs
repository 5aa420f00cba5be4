//! Importing contacts row by row with the activity rule: find by email or
//! mobile phone, create, or bring the row's non-empty values to the contact
//! (empty never clears), in file order, a batch per transaction. A row that
//! cannot be applied fails alone, with its line, column and reason.

use super::contacts::{self, Lock};
use super::{Store, StoreError, merge, save};
use crate::domain::import_mapping::ColumnMap;
use crate::domain::{
    ContactFields, ContactPatch, PhoneRegion, Principal, Role, Source, merge_plan,
};

/// A row that failed, for the error report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedRow {
    pub line: u64,
    pub column: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub failed: Vec<FailedRow>,
}

impl Summary {
    pub fn add(&mut self, other: Summary) {
        self.created += other.created;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.failed.extend(other.failed);
    }
}

/// One CSV record with the line it starts on.
pub struct Record {
    pub line: u64,
    pub cells: Vec<String>,
}

enum Prepared {
    Row(ContactFields),
    Failed(FailedRow),
}

fn prepare(map: &ColumnMap, region: PhoneRegion, record: &Record) -> Prepared {
    let cells: Vec<&str> = record.cells.iter().map(String::as_str).collect();
    let fail = |column: Option<&str>, reason: String| {
        Prepared::Failed(FailedRow {
            line: record.line,
            column: column.map(str::to_owned),
            reason,
        })
    };
    let patch = match ContactPatch::parse(&map.row(&cells), region) {
        Ok(patch) => patch,
        Err(err) => return fail(map.column_of(err.field), err.message),
    };
    match ContactFields::default().patched(&patch) {
        Ok(fields) => Prepared::Row(fields),
        Err(_) => fail(None, "the row has no email and no mobile phone".to_owned()),
    }
}

/// Applies `records` in one transaction; with `dry_run` it is rolled back,
/// so the summary says what would happen.
pub async fn apply_batch(
    store: &Store,
    principal: &Principal,
    map: &ColumnMap,
    region: PhoneRegion,
    records: &[Record],
    dry_run: bool,
) -> Result<Summary, StoreError> {
    if !principal.may_write_contacts() {
        return Err(StoreError::forbidden("this role cannot import contacts"));
    }
    let owner = match principal.role {
        Role::Integration => None,
        _ => Some(principal.user_id),
    };
    let mut summary = Summary::default();
    let txn = store.begin_write().await?;
    for record in records {
        let fields = match prepare(map, region, record) {
            Prepared::Row(fields) => fields,
            Prepared::Failed(failed) => {
                summary.failed.push(failed);
                continue;
            }
        };
        let by_email = match &fields.email {
            Some(email) => contacts::find_by_email(&*txn, email, Lock::ForUpdate).await?,
            None => None,
        };
        let by_phone = match &fields.mobile_phone {
            Some(phone) => contacts::find_by_phone(&*txn, phone, Lock::ForUpdate).await?,
            None => None,
        };
        let holder = match (by_email, by_phone) {
            (Some(e), Some(p)) if e.id != p.id => {
                summary.failed.push(FailedRow {
                    line: record.line,
                    column: map.column_of("mobilePhone").map(str::to_owned),
                    reason: "the email and the mobile phone belong to two different contacts"
                        .to_owned(),
                });
                continue;
            }
            (Some(e), _) => Some(e),
            (None, p) => p,
        };
        match holder {
            Some(current) if !principal.can_access(current.owner_id, current.team_id) => {
                summary.failed.push(FailedRow {
                    line: record.line,
                    column: None,
                    reason:
                        "Cannot save contact: its email or mobile phone belongs to a contact you \
                             do not have permission to access; ask your administrator"
                            .to_owned(),
                });
            }
            Some(current) => {
                let plan = merge_plan::plan(&current.fields, &fields);
                if plan.result == current.fields {
                    summary.unchanged += 1;
                } else {
                    merge::apply_to_survivor(
                        &*txn,
                        principal,
                        &current,
                        &plan,
                        Source::Import,
                        None,
                    )
                    .await?;
                    summary.updated += 1;
                }
            }
            None => {
                save::insert_contact(&*txn, principal, &fields, Source::Import, (owner, None))
                    .await?;
                summary.created += 1;
            }
        }
    }
    if !dry_run {
        txn.commit().await?;
    }
    Ok(summary)
}
