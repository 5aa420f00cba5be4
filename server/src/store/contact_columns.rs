//! The one order of a contact row's columns, for the readers that decode
//! rows by position (rusqlite point reads and import lookups, and the
//! import's SeaORM and PostgreSQL lookups): decoding by position spares
//! hashing every column name of every row. The SQL text, the SeaORM
//! column list and the decoder are written once here; a test keeps the
//! text and the list in step.

use super::entities::contact;

/// The columns as SQL text, for `concat!` into prepared statements.
macro_rules! contact_columns {
    () => {
        "id, first_name, last_name, email, mobile_phone, company, job_title, timezone, \
         source, owner_id, team_id, sort_name, version, created_at, updated_at"
    };
}
pub(super) use contact_columns;

/// The same columns for SeaORM's `select_only().columns(..)`.
pub(super) const CONTACT_COLUMNS: [contact::Column; 15] = [
    contact::Column::Id,
    contact::Column::FirstName,
    contact::Column::LastName,
    contact::Column::Email,
    contact::Column::MobilePhone,
    contact::Column::Company,
    contact::Column::JobTitle,
    contact::Column::Timezone,
    contact::Column::Source,
    contact::Column::OwnerId,
    contact::Column::TeamId,
    contact::Column::SortName,
    contact::Column::Version,
    contact::Column::CreatedAt,
    contact::Column::UpdatedAt,
];

/// A `contact::Model` from a row holding the columns above, read with
/// `$row.$get(position)?` (`get` for rusqlite, `try_get_by_index` for
/// SeaORM).
macro_rules! contact_at_positions {
    ($row:ident . $get:ident) => {
        $crate::store::entities::contact::Model {
            id: $row.$get(0)?,
            first_name: $row.$get(1)?,
            last_name: $row.$get(2)?,
            email: $row.$get(3)?,
            mobile_phone: $row.$get(4)?,
            company: $row.$get(5)?,
            job_title: $row.$get(6)?,
            timezone: $row.$get(7)?,
            source: $row.$get(8)?,
            owner_id: $row.$get(9)?,
            team_id: $row.$get(10)?,
            sort_name: $row.$get(11)?,
            version: $row.$get(12)?,
            created_at: $row.$get(13)?,
            updated_at: $row.$get(14)?,
        }
    };
}
pub(super) use contact_at_positions;

#[cfg(test)]
mod tests {
    use sea_orm::IdenStatic;

    #[test]
    fn the_sql_text_and_the_column_list_agree() {
        let names: Vec<&str> = super::CONTACT_COLUMNS.iter().map(|c| c.as_str()).collect();
        let text: Vec<&str> = contact_columns!().split(',').map(str::trim).collect();
        assert_eq!(text, names);
    }
}
