//! The import's per-row rule, decided in memory: what each row of a file
//! does to the contacts its identities name. The store loads those
//! contacts, asks the plan row by row, and persists what it decided; the
//! rule itself is here, so it is tested on plain values.
//!
//! A row finds its contact as an activity does (`identity::holder`):
//! creates one when no contact holds its email or phone, else brings its
//! non-empty values to the holder (empty never clears), in file order. A
//! row whose email and phone belong to two contacts fails, naming the
//! phone column, where an activity would go to the email's contact: an
//! activity reports something that happened and cannot be sent again,
//! while a row can be corrected and imported again, and applying it
//! without its phone would drop a value of the file with no error.

use foldhash::{HashMap, HashSet};

use super::contact::{ContactFields, ContactRecord, Source};
use super::identity::{self, Holder};
use super::import_mapping::{ColumnRef, FailedRow, Summary};
use super::merge_plan::{self, MergePlan};
use super::permissions::{CANNOT_SAVE_CONTACT, Principal};

pub const TWO_HOLDERS: &str = "the email and the mobile phone belong to two different contacts";

/// One record of the file, read and normalised (or refused).
#[derive(Debug, Clone)]
pub struct PreparedRow {
    pub line: u64,
    pub row: Result<ContactFields, FailedRow>,
}

/// A change a row brings to a stored contact, for the store to write.
#[derive(Debug)]
pub struct StoredUpdate {
    /// The contact, by its place in the plan (`ImportPlan::record`).
    pub index: usize,
    pub plan: MergePlan,
}

/// A contact the plan has seen: loaded from the database, or created by
/// an earlier row (`id` 0 until the store writes it).
#[derive(Debug)]
struct Planned {
    record: ContactRecord,
    is_new: bool,
}

/// What an import knows of the contacts its rows touch, by identity, and
/// the rule that decides each row against it.
pub struct ImportPlan {
    principal: Principal,
    /// Whom new contacts belong to: the importer, unless an integration
    /// imports (its contacts belong to no one until assigned).
    owner: Option<i64>,
    /// The file's phone column, named when a row's email and phone belong
    /// to two contacts.
    phone_column: Option<ColumnRef>,
    contacts: Vec<Planned>,
    by_id: HashMap<i64, usize>,
    by_email: HashMap<String, usize>,
    by_phone: HashMap<String, usize>,
}

impl ImportPlan {
    pub fn new(principal: Principal) -> Self {
        let owner = principal.default_owner();
        Self {
            principal,
            owner,
            phone_column: None,
            contacts: Vec::new(),
            by_id: HashMap::default(),
            by_email: HashMap::default(),
            by_phone: HashMap::default(),
        }
    }

    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// The importer as they are now; rows planned from here on follow it.
    pub fn set_principal(&mut self, principal: Principal) {
        self.owner = principal.default_owner();
        self.principal = principal;
    }

    pub fn set_phone_column(&mut self, column: Option<ColumnRef>) {
        self.phone_column = column;
    }

    /// Forgets every contact, keeping who imports: a real import does this
    /// after each committed batch, so its memory stays bounded.
    pub fn forget(&mut self) {
        self.contacts.clear();
        self.by_id.clear();
        self.by_email.clear();
        self.by_phone.clear();
    }

    /// The emails the rows name that the plan does not know yet.
    pub fn unknown_emails<'r>(&self, rows: &'r [PreparedRow]) -> HashSet<&'r str> {
        fields_of(rows)
            .filter_map(|f| f.email.as_ref().map(|e| e.as_str()))
            .filter(|e| !self.by_email.contains_key(*e))
            .collect()
    }

    /// The mobile phones the rows name that the plan does not know yet.
    pub fn unknown_phones<'r>(&self, rows: &'r [PreparedRow]) -> HashSet<&'r str> {
        fields_of(rows)
            .filter_map(|f| f.mobile_phone.as_ref().map(|p| p.as_str()))
            .filter(|p| !self.by_phone.contains_key(*p))
            .collect()
    }

    /// Adds a stored contact, once.
    pub fn learn(&mut self, record: ContactRecord) {
        if !self.by_id.contains_key(&record.id) {
            self.add(Planned {
                record,
                is_new: false,
            });
        }
    }

    /// Decides `row`: fails it, creates a contact (kept here until the
    /// store writes it), leaves it unchanged, or changes a contact. A
    /// change to a contact created earlier in the import is kept here
    /// too; a change to a stored contact is returned, for the store to
    /// write (and then `replace`), or in a dry run to `keep`. `now` stamps
    /// a new contact.
    pub fn decide(
        &mut self,
        row: &PreparedRow,
        now: i64,
        summary: &mut Summary,
    ) -> Option<StoredUpdate> {
        let fields = match &row.row {
            Ok(fields) => fields,
            Err(failed) => {
                summary.failed.push(failed.clone());
                return None;
            }
        };
        let fail = |column: Option<ColumnRef>, reason: &str| FailedRow {
            line: row.line,
            column,
            reason: reason.to_owned(),
        };
        let by_email = (fields.email.as_ref()).and_then(|e| self.by_email.get(e.as_str()).copied());
        let by_phone =
            (fields.mobile_phone.as_ref()).and_then(|p| self.by_phone.get(p.as_str()).copied());
        let index = match identity::holder(by_email, by_phone, |e, p| e == p) {
            Holder::Two { .. } => {
                summary
                    .failed
                    .push(fail(self.phone_column.clone(), TWO_HOLDERS));
                return None;
            }
            Holder::Nobody => {
                self.add(Planned {
                    record: ContactRecord {
                        id: 0,
                        fields: fields.clone(),
                        source: Source::Import,
                        owner_id: self.owner,
                        team_id: None,
                        version: 1,
                        created_at: now,
                        updated_at: now,
                    },
                    is_new: true,
                });
                summary.created += 1;
                return None;
            }
            Holder::One(index) => index,
        };
        let planned = &self.contacts[index];
        let current = &planned.record;
        if !self.principal.can_access(current.owner_id, current.team_id) {
            summary.failed.push(fail(None, CANNOT_SAVE_CONTACT));
            return None;
        }
        let plan = merge_plan::plan(&current.fields, fields);
        if plan.result == current.fields {
            summary.unchanged += 1;
            return None;
        }
        summary.updated += 1;
        if planned.is_new {
            self.keep(index, plan);
            return None;
        }
        Some(StoredUpdate { index, plan })
    }

    /// Decides every row, for a writer that only creates contacts: `None`
    /// as soon as a row would change a stored contact.
    pub fn decide_creations(&mut self, rows: &[PreparedRow], now: i64) -> Option<Summary> {
        let mut summary = Summary::default();
        for row in rows {
            if self.decide(row, now, &mut summary).is_some() {
                return None;
            }
        }
        Some(summary)
    }

    /// Keeps a change in memory, to be written with the rest (or never, in
    /// a dry run).
    pub fn keep(&mut self, index: usize, plan: MergePlan) {
        let record = ContactRecord {
            fields: plan.result,
            ..self.contacts[index].record.clone()
        };
        self.replace(index, record);
    }

    /// Moves contact `index` to `record` (as the store wrote it),
    /// re-indexing its identities.
    pub fn replace(&mut self, index: usize, record: ContactRecord) {
        let before = &self.contacts[index].record.fields;
        if let Some(email) = &before.email
            && record.fields.email.as_ref() != Some(email)
        {
            self.by_email.remove(email.as_str());
        }
        if let Some(phone) = &before.mobile_phone
            && record.fields.mobile_phone.as_ref() != Some(phone)
        {
            self.by_phone.remove(phone.as_str());
        }
        self.index(index, &record.fields);
        self.contacts[index].record = record;
    }

    pub fn record(&self, index: usize) -> &ContactRecord {
        &self.contacts[index].record
    }

    /// The contacts the rows created, by index, in the order they were.
    pub fn new_contacts(&self) -> Vec<usize> {
        (0..self.contacts.len())
            .filter(|&i| self.contacts[i].is_new)
            .collect()
    }

    /// Gives new contact `index` the id the store wrote it under.
    pub fn set_id(&mut self, index: usize, id: i64) {
        self.contacts[index].record.id = id;
    }

    /// Gives the new contact holding `email` or `phone` its id: inserts
    /// return ids in no promised order, and each new contact is found
    /// again by an identity, unique among them.
    pub fn set_id_by_identity(&mut self, id: i64, email: Option<&str>, phone: Option<&str>) {
        let index = email
            .and_then(|e| self.by_email.get(e))
            .or_else(|| phone.and_then(|p| self.by_phone.get(p)))
            .copied();
        if let Some(index) = index {
            self.contacts[index].record.id = id;
        }
    }

    /// Whether every one of `new` has been given its id.
    pub fn all_have_ids(&self, new: &[usize]) -> bool {
        new.iter().all(|&i| self.contacts[i].record.id != 0)
    }

    fn add(&mut self, planned: Planned) -> usize {
        let index = self.contacts.len();
        if !planned.is_new {
            self.by_id.insert(planned.record.id, index);
        }
        self.index(index, &planned.record.fields);
        self.contacts.push(planned);
        index
    }

    fn index(&mut self, index: usize, fields: &ContactFields) {
        if let Some(email) = &fields.email {
            self.by_email.insert(email.as_str().to_owned(), index);
        }
        if let Some(phone) = &fields.mobile_phone {
            self.by_phone.insert(phone.as_str().to_owned(), index);
        }
    }
}

fn fields_of(rows: &[PreparedRow]) -> impl Iterator<Item = &ContactFields> {
    rows.iter().filter_map(|r| r.row.as_ref().ok())
}

#[cfg(test)]
mod tests;
