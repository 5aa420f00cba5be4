use proptest::prelude::*;

use super::*;
use crate::domain::{Email, Phone, PhoneRegion, Role};

const NOW: i64 = 1_700_000_000_000_000;

fn member(user_id: i64) -> Principal {
    Principal::with_defaults(user_id, Role::Member, vec![])
}

fn email(value: &str) -> Email {
    Email::parse("email", value).unwrap()
}

fn phone(value: &str) -> Phone {
    Phone::parse("mobilePhone", value, PhoneRegion::default()).unwrap()
}

fn fields(first: Option<&str>, e: Option<&str>, p: Option<&str>) -> ContactFields {
    ContactFields {
        first_name: first.map(str::to_owned),
        email: e.map(email),
        mobile_phone: p.map(phone),
        ..ContactFields::default()
    }
}

fn row(line: u64, fields: ContactFields) -> PreparedRow {
    PreparedRow {
        line,
        row: Ok(fields),
    }
}

fn stored(id: i64, owner: i64, fields: ContactFields) -> ContactRecord {
    ContactRecord {
        id,
        fields,
        source: Source::Manual,
        owner_id: Some(owner),
        team_id: None,
        version: 1,
        created_at: 0,
        updated_at: 0,
    }
}

#[test]
fn a_row_naming_nobody_creates_a_contact_owned_by_the_importer() {
    let mut plan = ImportPlan::new(member(7));
    let mut summary = Summary::default();
    let update = plan.decide(
        &row(2, fields(Some("Ann"), Some("ann@example.com"), None)),
        NOW,
        &mut summary,
    );
    assert!(update.is_none());
    assert_eq!(summary.created, 1);
    let new = plan.new_contacts();
    assert_eq!(new.len(), 1);
    let record = plan.record(new[0]);
    assert_eq!(record.owner_id, Some(7));
    assert_eq!(record.source, Source::Import);
    assert_eq!((record.created_at, record.id), (NOW, 0));
}

#[test]
fn an_integration_s_new_contacts_belong_to_no_one() {
    let mut plan = ImportPlan::new(Principal::with_defaults(3, Role::Integration, vec![]));
    let mut summary = Summary::default();
    plan.decide(
        &row(2, fields(None, Some("a@example.com"), None)),
        NOW,
        &mut summary,
    );
    assert_eq!(plan.record(0).owner_id, None);
}

#[test]
fn a_later_row_changes_a_contact_an_earlier_row_created_in_memory() {
    let mut plan = ImportPlan::new(member(7));
    let mut summary = Summary::default();
    plan.decide(
        &row(2, fields(Some("Ann"), Some("ann@example.com"), None)),
        NOW,
        &mut summary,
    );
    let update = plan.decide(
        &row(3, fields(Some("Anna"), None, Some("+14155550101"))),
        NOW,
        &mut summary,
    );
    assert!(update.is_none(), "a phone alone names nobody yet");
    let update = plan.decide(
        &row(4, fields(Some("Anne"), Some("ann@example.com"), None)),
        NOW,
        &mut summary,
    );
    assert!(
        update.is_none(),
        "a new contact's change is kept in the plan"
    );
    assert_eq!((summary.created, summary.updated), (2, 1));
    assert_eq!(plan.record(0).fields.first_name.as_deref(), Some("Anne"));
}

#[test]
fn a_change_to_a_stored_contact_is_handed_to_the_store_and_empty_never_clears() {
    let mut plan = ImportPlan::new(member(7));
    plan.learn(stored(
        40,
        7,
        ContactFields {
            company: Some("Acme".into()),
            ..fields(Some("Ann"), Some("ann@example.com"), None)
        },
    ));
    let mut summary = Summary::default();
    let update = plan
        .decide(
            &row(
                2,
                fields(Some("Anne"), Some("ANN@example.com"), Some("+14155550101")),
            ),
            NOW,
            &mut summary,
        )
        .expect("the stored contact changes");
    assert_eq!(update.index, 0);
    assert_eq!(update.plan.result.first_name.as_deref(), Some("Anne"));
    assert_eq!(update.plan.result.company.as_deref(), Some("Acme"));
    assert_eq!(summary.updated, 1);

    // The same values again change nothing.
    plan.keep(update.index, update.plan);
    let again = plan.decide(
        &row(3, fields(Some("Anne"), Some("ann@example.com"), None)),
        NOW,
        &mut summary,
    );
    assert!(again.is_none());
    assert_eq!(summary.unchanged, 1);
}

#[test]
fn email_and_phone_of_two_contacts_fail_the_row_naming_the_phone_column() {
    let mut plan = ImportPlan::new(member(7));
    let column = ColumnRef {
        number: 3,
        name: "Mobile".into(),
    };
    plan.set_phone_column(Some(column.clone()));
    plan.learn(stored(1, 7, fields(None, Some("ann@example.com"), None)));
    plan.learn(stored(2, 7, fields(None, None, Some("+14155550101"))));
    let mut summary = Summary::default();
    let update = plan.decide(
        &row(
            5,
            fields(Some("X"), Some("ann@example.com"), Some("+14155550101")),
        ),
        NOW,
        &mut summary,
    );
    assert!(update.is_none());
    assert_eq!(
        summary.failed,
        vec![FailedRow {
            line: 5,
            column: Some(column),
            reason: TWO_HOLDERS.to_owned(),
        }]
    );
}

#[test]
fn a_contact_the_importer_may_not_reach_fails_the_row_as_cannot_save() {
    let mut plan = ImportPlan::new(member(7));
    plan.learn(stored(1, 8, fields(None, Some("ann@example.com"), None)));
    let mut summary = Summary::default();
    plan.decide(
        &row(4, fields(Some("Eve"), Some("ann@example.com"), None)),
        NOW,
        &mut summary,
    );
    assert_eq!(summary.failed.len(), 1);
    assert_eq!(summary.failed[0].reason, CANNOT_SAVE_CONTACT);
    assert_eq!(summary.failed[0].column, None);
    assert_eq!(plan.record(0).fields.first_name, None);
}

#[test]
fn a_refused_row_is_reported_as_it_was_refused() {
    let mut plan = ImportPlan::new(member(7));
    let refused = FailedRow {
        line: 9,
        column: None,
        reason: "email: is not an email address".into(),
    };
    let mut summary = Summary::default();
    plan.decide(
        &PreparedRow {
            line: 9,
            row: Err(refused.clone()),
        },
        NOW,
        &mut summary,
    );
    assert_eq!(summary.failed, vec![refused]);
    assert!(plan.new_contacts().is_empty());
}

#[test]
fn creations_only_gives_up_at_the_first_change_to_a_stored_contact() {
    let mut plan = ImportPlan::new(member(7));
    plan.learn(stored(1, 7, fields(None, Some("ann@example.com"), None)));
    let unchanged_or_new = [
        row(2, fields(None, Some("ann@example.com"), None)),
        row(3, fields(None, Some("bo@example.com"), None)),
    ];
    let summary = plan.decide_creations(&unchanged_or_new, NOW).unwrap();
    assert_eq!((summary.created, summary.unchanged), (1, 1));
    plan.forget();
    plan.learn(stored(1, 7, fields(None, Some("ann@example.com"), None)));
    let changing = [row(2, fields(Some("Ann"), Some("ann@example.com"), None))];
    assert!(plan.decide_creations(&changing, NOW).is_none());
}

#[test]
fn ids_come_back_by_identity_in_any_order() {
    let mut plan = ImportPlan::new(member(7));
    let rows = [
        row(2, fields(None, Some("a@example.com"), None)),
        row(3, fields(None, None, Some("+14155550101"))),
    ];
    plan.decide_creations(&rows, NOW).unwrap();
    let new = plan.new_contacts();
    assert!(!plan.all_have_ids(&new));
    plan.set_id_by_identity(11, None, Some("+14155550101"));
    plan.set_id_by_identity(10, Some("a@example.com"), None);
    assert!(plan.all_have_ids(&new));
    assert_eq!((plan.record(0).id, plan.record(1).id), (10, 11));
}

/// Small pools, so rows of a generated file often name the same people.
const EMAILS: [&str; 4] = [
    "a@example.com",
    "b@example.com",
    "c@example.com",
    "d@example.com",
];
const PHONES: [&str; 4] = [
    "+14155550101",
    "+14155550102",
    "+14155550103",
    "+14155550104",
];
const NAMES: [&str; 3] = ["Ann", "Bo", "Cy"];

fn any_fields() -> impl Strategy<Value = ContactFields> {
    (
        proptest::option::of(0..NAMES.len()),
        proptest::option::of(0..EMAILS.len()),
        proptest::option::of(0..PHONES.len()),
    )
        .prop_map(|(n, e, p)| {
            fields(
                n.map(|n| NAMES[n]),
                e.map(|e| EMAILS[e]),
                p.map(|p| PHONES[p]),
            )
        })
}

/// Stored contacts with distinct identities, some another user's.
fn any_stored() -> impl Strategy<Value = Vec<ContactRecord>> {
    proptest::collection::vec((any_fields(), any::<bool>()), 0..4).prop_map(|contacts| {
        let mut taken = HashSet::default();
        let mut records = Vec::new();
        for (i, (mut fields, mine)) in contacts.into_iter().enumerate() {
            for identity in [
                fields.email.as_ref().map(|e| e.as_str().to_owned()),
                fields.mobile_phone.as_ref().map(|p| p.as_str().to_owned()),
            ]
            .into_iter()
            .flatten()
            {
                if !taken.insert(identity) {
                    fields.email = None;
                    fields.mobile_phone = None;
                }
            }
            if fields.email.is_some() || fields.mobile_phone.is_some() {
                records.push(stored(i as i64 + 1, if mine { 7 } else { 8 }, fields));
            }
        }
        records
    })
}

fn any_rows() -> impl Strategy<Value = Vec<PreparedRow>> {
    proptest::collection::vec(any_fields(), 0..24).prop_map(|rows| {
        rows.into_iter()
            .enumerate()
            .map(|(i, fields)| {
                let line = i as u64 + 2;
                if fields.email.is_none() && fields.mobile_phone.is_none() {
                    // As the reader refuses it: validation wants an identity.
                    PreparedRow {
                        line,
                        row: Err(FailedRow {
                            line,
                            column: None,
                            reason: "a contact needs an email or a mobile phone".into(),
                        }),
                    }
                } else {
                    row(line, fields)
                }
            })
            .collect()
    })
}

fn identities(fields: &ContactFields) -> impl Iterator<Item = String> + use<> {
    let email = fields.email.as_ref().map(|e| e.as_str().to_owned());
    let phone = fields.mobile_phone.as_ref().map(|p| p.as_str().to_owned());
    email.into_iter().chain(phone)
}

/// Decides every row as a dry run does: stored changes kept in memory.
fn run(plan: &mut ImportPlan, rows: &[PreparedRow]) -> Summary {
    let mut summary = Summary::default();
    for row in rows {
        if let Some(update) = plan.decide(row, NOW, &mut summary) {
            plan.keep(update.index, update.plan);
        }
    }
    summary
}

fn planned(plan: &ImportPlan) -> Vec<ContactRecord> {
    (0..plan.contacts.len())
        .map(|i| plan.record(i).clone())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_row_is_counted_once(stored in any_stored(), rows in any_rows()) {
        let mut plan = ImportPlan::new(member(7));
        stored.into_iter().for_each(|record| plan.learn(record));
        let summary = run(&mut plan, &rows);
        let counted = summary.created + summary.updated + summary.unchanged + summary.failed.len() as u64;
        prop_assert_eq!(counted, rows.len() as u64);
        prop_assert_eq!(summary.created as usize, plan.new_contacts().len());
    }

    #[test]
    fn no_two_contacts_ever_share_an_identity(stored in any_stored(), rows in any_rows()) {
        let mut plan = ImportPlan::new(member(7));
        stored.into_iter().for_each(|record| plan.learn(record));
        run(&mut plan, &rows);
        let mut seen = HashSet::default();
        for record in planned(&plan) {
            if let Some(email) = &record.fields.email {
                prop_assert!(seen.insert(email.as_str().to_owned()), "two contacts hold {}", email);
            }
            if let Some(phone) = &record.fields.mobile_phone {
                prop_assert!(seen.insert(phone.as_str().to_owned()), "two contacts hold {}", phone);
            }
        }
        // The indexes point at the contacts holding each identity.
        for (email, &index) in &plan.by_email {
            prop_assert_eq!(plan.record(index).fields.email.as_ref().map(|e| e.as_str()), Some(email.as_str()));
        }
        for (phone, &index) in &plan.by_phone {
            prop_assert_eq!(plan.record(index).fields.mobile_phone.as_ref().map(|p| p.as_str()), Some(phone.as_str()));
        }
    }

    #[test]
    fn nothing_is_cleared_and_no_one_else_s_contact_changes(stored in any_stored(), rows in any_rows()) {
        let mut plan = ImportPlan::new(member(7));
        stored.iter().cloned().for_each(|record| plan.learn(record));
        run(&mut plan, &rows);
        for before in &stored {
            let index = plan.by_id[&before.id];
            let after = plan.record(index);
            if before.owner_id != Some(7) {
                prop_assert_eq!(&after.fields, &before.fields);
            }
            for ((name, was), (_, now)) in before.fields.named_values().into_iter().zip(after.fields.named_values()) {
                prop_assert!(was.is_none() || now.is_some(), "{} was cleared", name);
            }
        }
    }

    /// A file whose rows each name people no other row names: importing
    /// it again changes nothing at all. (A file whose rows disagree, one
    /// giving a contact's phone to another, say, may change again.)
    #[test]
    fn importing_a_consistent_file_again_changes_nothing(stored in any_stored(), rows in any_rows()) {
        // A person is a stored contact, or else an identity no one holds.
        let mut person: HashMap<String, String> = HashMap::default();
        for record in &stored {
            let key = format!("#{}", record.id);
            for identity in identities(&record.fields) {
                person.insert(identity, key.clone());
            }
        }
        let mut named = HashSet::default();
        let rows: Vec<PreparedRow> = rows
            .into_iter()
            .filter(|row| {
                let Ok(fields) = &row.row else { return true };
                let people: Vec<String> = identities(fields)
                    .map(|i| person.get(&i).cloned().unwrap_or(i))
                    .collect();
                let fresh = people.iter().all(|p| !named.contains(p));
                named.extend(people);
                fresh
            })
            .collect();
        let mut plan = ImportPlan::new(member(7));
        stored.into_iter().for_each(|record| plan.learn(record));
        let first = run(&mut plan, &rows);
        let after_first = planned(&plan);
        let second = run(&mut plan, &rows);
        prop_assert_eq!((second.created, second.updated), (0, 0));
        prop_assert_eq!(second.failed, first.failed);
        prop_assert_eq!(planned(&plan), after_first);
    }
}
