use async_graphql::{Context, ID, Object, Result, SimpleObject, Upload};

use super::activity::{Activity, ActivityInput, CalendarProvider, RecordActivityPayload};
use super::contact::{Contact, ContactInput, MergePreview};
use super::error::{ApiError, ApiResult};
use super::ids::{self, Kind};
use super::import::{self, ColumnMappingInput, ImportJob};
use super::integration::{
    ConnectWebhookPayload, Crm, Delivery, DisconnectIntegrationPayload, Integration, WebhookEvent,
};
use super::merge::{FieldChoice, UndoMergePayload, choices as chosen, field_names};
use super::{principal, state};
use crate::domain::field_policy::ContactField;
use crate::domain::{ContactPatch, Principal, Role, Source};
use crate::propagation::target_guard;
use crate::store::contact_writes::{self, SaveOutcome};
use crate::store::integrations::IntegrationKind;
use crate::store::merge::{self, MergeRequest};
use crate::store::outbox::EventType;
use crate::store::save::{self, ContactEdit, MergeConfirmation, NewContact};
use crate::store::{activities, integrations};

/// Exactly one of the two is set: the saved contact, or the merge the save
/// needs confirmed (nothing was written then).
#[derive(SimpleObject)]
pub struct SaveContactPayload {
    pub contact: Option<Contact>,
    pub merge_preview: Option<MergePreview>,
}

impl From<SaveOutcome> for SaveContactPayload {
    fn from(outcome: SaveOutcome) -> Self {
        match outcome {
            SaveOutcome::Saved(record) => Self {
                contact: Some(Contact(record)),
                merge_preview: None,
            },
            SaveOutcome::NeedsMerge(preview) => Self {
                contact: None,
                merge_preview: Some(preview.into()),
            },
        }
    }
}

#[derive(SimpleObject)]
pub struct DeleteContactPayload {
    pub deleted_contact_id: ID,
}

/// Integrations write through the API; people through a client's form.
fn source_of(caller: &Principal) -> Source {
    match caller.role {
        Role::Integration => Source::Api,
        _ => Source::Manual,
    }
}

fn contact_id(field: &'static str, id: &ID) -> Result<i64, ApiError> {
    ids::decode(field, Kind::Contact, id)?.ok_or(ApiError::NotFound)
}

#[derive(Default)]
pub struct CoreMutation;

// A mutation's arguments are its GraphQL arguments: the saving ones carry
// the input, the merge's confirmation, its versions and its choices.
#[allow(clippy::too_many_arguments)]
#[Object]
impl CoreMutation {
    /// Creates a contact (ADMIN, MEMBER, INTEGRATION); it needs an email or
    /// a mobile phone. When one of them belongs to a contact the caller can
    /// access, nothing is written and `mergePreview` shows what merging the
    /// input into that contact would do; `confirmMerge: true` does it. A
    /// contact the caller cannot access gives CANNOT_SAVE_CONTACT. Bad
    /// input is VALIDATION with `extensions.field` naming the field.
    async fn create_contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new contact's fields; an email or a mobile phone is required.")]
        input: ContactInput,
        #[graphql(
            default_with = "Some(false)",
            desc = "Merge into the contact holding the email or phone instead of answering a preview."
        )]
        confirm_merge: Option<bool>,
        #[graphql(
            desc = "The survivor's `version` from the preview: a survivor changed since gives CONFLICT."
        )]
        expected_survivor_version: Option<i32>,
        #[graphql(
            desc = "Sides chosen field by field for the merge; the preview shows them, the confirm applies them."
        )]
        choices: Option<Vec<FieldChoice>>,
    ) -> ApiResult<SaveContactPayload> {
        let caller = principal(ctx)?;
        let app = state(ctx)?;
        input.check_writable(caller, ContactField::input_name)?;
        let patch = ContactPatch::parse_every(&input.raw_fields(), app.settings.default_region)?;
        let new = NewContact {
            patch,
            assignment: input.assignment()?,
            source: source_of(caller),
            merge: MergeConfirmation {
                confirm: confirm_merge.unwrap_or(false),
                expected_survivor_version,
                choices: chosen(choices)?,
            },
        };
        let outcome = save::create(&app.store, caller, new).await?;
        Ok(outcome.into())
    }

    /// Edits a contact: a field left out is unchanged, `null` clears it.
    /// `expectedVersion` refuses the edit with CONFLICT when the contact
    /// changed since it was read. An email or mobile phone that belongs to
    /// another contact answers as in `createContact`; confirming merges this
    /// contact into that one, which survives (`expectedSurvivorVersion`
    /// guards against a stale preview).
    async fn update_contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contact to edit; one the caller cannot access is NOT_FOUND.")] id: ID,
        #[graphql(desc = "Only the fields to change: left out is unchanged, `null` clears.")]
        input: ContactInput,
        #[graphql(
            default_with = "Some(false)",
            desc = "Merge into the contact holding the email or phone instead of answering a preview."
        )]
        confirm_merge: Option<bool>,
        #[graphql(desc = "The `version` the client read: a contact changed since gives CONFLICT.")]
        expected_version: Option<i32>,
        #[graphql(
            desc = "The survivor's `version` from the preview: a survivor changed since gives CONFLICT."
        )]
        expected_survivor_version: Option<i32>,
        #[graphql(
            desc = "Sides chosen field by field for the merge; the preview shows them, the confirm applies them."
        )]
        choices: Option<Vec<FieldChoice>>,
    ) -> ApiResult<SaveContactPayload> {
        let caller = principal(ctx)?;
        let app = state(ctx)?;
        let id = contact_id("id", &id)?;
        input.check_writable(caller, ContactField::input_name)?;
        let patch = ContactPatch::parse_every(&input.raw_fields(), app.settings.default_region)?;
        let edit = ContactEdit {
            id,
            patch,
            assignment: input.assignment()?,
            expected_version,
            source: source_of(caller),
            merge: MergeConfirmation {
                confirm: confirm_merge.unwrap_or(false),
                expected_survivor_version,
                choices: chosen(choices)?,
            },
        };
        let outcome = save::update(&app.store, caller, edit).await?;
        Ok(outcome.into())
    }

    /// Merges `mergedId` into `survivorId`: without `confirm`, a preview;
    /// with it, one transaction after which `mergedId` resolves to the
    /// survivor. The merged record's non-empty values fill and overwrite the
    /// survivor's; empty never clears. Both must be accessible (else
    /// NOT_FOUND); confirming needs ADMIN or MEMBER.
    async fn merge_contacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contact that stays.")] survivor_id: ID,
        #[graphql(desc = "The contact absorbed; its id resolves to the survivor afterwards.")]
        merged_id: ID,
        #[graphql(
            default_with = "Some(false)",
            desc = "Do the merge; without it only `mergePreview` is answered."
        )]
        confirm: Option<bool>,
        #[graphql(desc = "The survivor's `version` from the preview, else CONFLICT.")]
        expected_survivor_version: Option<i32>,
        #[graphql(desc = "The merged contact's `version` from the preview, else CONFLICT.")]
        expected_merged_version: Option<i32>,
        #[graphql(
            desc = "Sides chosen field by field; the preview shows them, the confirm applies them."
        )]
        choices: Option<Vec<FieldChoice>>,
    ) -> ApiResult<SaveContactPayload> {
        let caller = principal(ctx)?;
        let app = state(ctx)?;
        let request = MergeRequest {
            survivor_id: contact_id("survivorId", &survivor_id)?,
            merged_id: contact_id("mergedId", &merged_id)?,
            confirm: confirm.unwrap_or(false),
            expected_survivor_version,
            expected_merged_version,
            source: source_of(caller),
            choices: chosen(choices)?,
        };
        let outcome = merge::merge_contacts(&app.store, caller, request).await?;
        Ok(outcome.into())
    }

    /// Undoes a merge (ADMIN, MEMBER, as merging): in one transaction the
    /// absorbed contact comes back under its own id with its fields,
    /// identities, owner and team as they were, with the activities,
    /// meetings, notifications and history that moved; its id stops
    /// resolving to the survivor; the survivor's fields the merge filled or
    /// overwrote go back, except those edited since (`keptFields`). CONFLICT
    /// when the merge was undone already, when a later merge into the same
    /// contact is not undone (it names it), or when an identity of the
    /// contact to restore belongs to another contact now (`extensions.field`
    /// names it); nothing changes then.
    async fn undo_merge(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The merge's `id` (from `Contact.merges`).")] id: ID,
        #[graphql(desc = "The survivor's `version` as read: changed since gives CONFLICT.")]
        expected_survivor_version: Option<i32>,
    ) -> ApiResult<UndoMergePayload> {
        let caller = principal(ctx)?;
        let number = ids::decode("id", Kind::Merge, &id)?.ok_or(ApiError::NotFound)?;
        let undone = crate::store::unmerge::undo(
            &state(ctx)?.store,
            caller,
            number,
            expected_survivor_version,
            source_of(caller),
        )
        .await?;
        Ok(UndoMergePayload {
            survivor: Contact(undone.survivor),
            restored: undone.restored.map(Contact),
            kept_fields: field_names(&caller.fields, &undone.kept),
        })
    }

    /// Records what a customer did (INTEGRATION or ADMIN). The contact is
    /// found by email or mobile phone, or created; its latest non-empty
    /// values win and empty never clears. A meeting plans its confirmation
    /// and reminders. Replaying the same `externalId` records nothing new.
    async fn record_activity(
        &self,
        ctx: &Context<'_>,
        input: ActivityInput,
    ) -> ApiResult<RecordActivityPayload> {
        let caller = principal(ctx)?;
        let app = state(ctx)?;
        let new = input.to_store(app.settings.default_region)?;
        input.check_writable(caller)?;
        let recorded =
            activities::record(&app.store, caller, new, &app.settings.reminder_offsets).await?;
        Ok(RecordActivityPayload {
            activity: Activity(recorded.activity),
            contact: recorded.contact.map(Contact),
            created: recorded.created,
        })
    }

    /// Subscribes a URL to contact events (ADMIN). Each POST is signed with
    /// the returned secret, which is shown only here. Like every
    /// integration's URL it must be https, without credentials, and resolve
    /// to public addresses only, when connected and at each delivery
    /// (unless the server runs with --allow-private-targets).
    async fn connect_webhook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Where events are POSTed: https, public.")] target_url: String,
        #[graphql(desc = "The events to receive; at least one.")] events: Vec<WebhookEvent>,
    ) -> ApiResult<ConnectWebhookPayload> {
        let caller = principal(ctx)?;
        let app = state(ctx)?;
        integrations::require_admin(caller)?;
        let target =
            target_guard::vet("targetUrl", &target_url, app.settings.outbound_targets).await?;
        let names: Vec<&str> = events
            .iter()
            .map(|e| EventType::from(*e).as_str())
            .collect();
        let (record, secret) =
            integrations::connect_webhook(&app.store, caller, &target, &names).await?;
        Ok(ConnectWebhookPayload {
            integration: Integration(record),
            signing_secret: secret,
        })
    }

    /// Connects the calendar API that hosts events of `provider` (ADMIN):
    /// GOOGLE (Google Calendar API) or EXCHANGE (Microsoft Graph). When a
    /// contact's email changes, its future meetings' events there get the
    /// new address in place of the old. The token is kept server-side.
    async fn connect_calendar(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "GOOGLE or EXCHANGE; other providers are VALIDATION.")]
        provider: CalendarProvider,
        #[graphql(
            desc = "The API's base URL, e.g. `https://www.googleapis.com/calendar/v3` or `https://graph.microsoft.com/v1.0`."
        )]
        base_url: String,
        #[graphql(desc = "An OAuth access token; used as given, never refreshed or read back.")]
        access_token: String,
    ) -> ApiResult<Integration> {
        let caller = principal(ctx)?;
        let app = state(ctx)?;
        let kind = match provider {
            CalendarProvider::Google => IntegrationKind::GoogleCalendar,
            CalendarProvider::Exchange => IntegrationKind::MicrosoftGraph,
            _ => {
                return Err(ApiError::validation(
                    "provider",
                    "only GOOGLE and EXCHANGE events are kept in sync; other platforms are left alone",
                ));
            }
        };
        integrations::require_admin(caller)?;
        let target = target_guard::vet("baseUrl", &base_url, app.settings.outbound_targets).await?;
        let events = [crate::store::outbox::GUEST_CHANGED];
        let record =
            integrations::connect_api(&app.store, caller, kind, &target, &access_token, &events)
                .await?;
        Ok(Integration(record))
    }

    /// Connects a CRM (ADMIN). When a contact's email or mobile phone
    /// changes (edit, merge, activity), the CRM's record is found the way
    /// the CRM identifies contacts (by the old email, then the phone) and
    /// updated; one is created only when none matches. Deletes are never
    /// sent. The token is kept server-side.
    async fn connect_crm(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which CRM's API `baseUrl` speaks.")] crm: Crm,
        #[graphql(
            desc = "The API's base URL, e.g. `https://api.hubapi.com` or the Salesforce instance URL."
        )]
        base_url: String,
        #[graphql(desc = "An OAuth access token; used as given, never refreshed or read back.")]
        access_token: String,
    ) -> ApiResult<Integration> {
        let caller = principal(ctx)?;
        let app = state(ctx)?;
        let kind = match crm {
            Crm::Hubspot => IntegrationKind::Hubspot,
            Crm::Salesforce => IntegrationKind::Salesforce,
        };
        integrations::require_admin(caller)?;
        let target = target_guard::vet("baseUrl", &base_url, app.settings.outbound_targets).await?;
        let events = [crate::store::outbox::CRM_IDENTITY_CHANGED];
        let record =
            integrations::connect_api(&app.store, caller, kind, &target, &access_token, &events)
                .await?;
        Ok(Integration(record))
    }

    /// Disconnects an integration (ADMIN); its pending deliveries are
    /// dropped. An unknown id is NOT_FOUND.
    async fn disconnect_integration(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The integration's `id`.")] id: ID,
    ) -> ApiResult<DisconnectIntegrationPayload> {
        let caller = principal(ctx)?;
        let app = state(ctx)?;
        let number = ids::decode("id", Kind::Integration, &id)?.ok_or(ApiError::NotFound)?;
        integrations::disconnect(&app.store, caller, number).await?;
        Ok(DisconnectIntegrationPayload {
            disconnected_integration_id: id,
        })
    }

    /// Sends a failed or dead delivery again (ADMIN): it is queued at once
    /// with a fresh budget of attempts, behind nothing but earlier pending
    /// events of the same contact. A delivered one, or one to an
    /// integration that unsubscribed, is VALIDATION on `deliveryId`.
    async fn redeliver(&self, ctx: &Context<'_>, delivery_id: ID) -> ApiResult<Delivery> {
        let caller = principal(ctx)?;
        let number =
            ids::decode("deliveryId", Kind::Delivery, &delivery_id)?.ok_or(ApiError::NotFound)?;
        let queued = integrations::redeliver(&state(ctx)?.store, caller, number).await?;
        Ok(queued.into())
    }

    /// Imports a CSV file (GraphQL multipart request) in the background:
    /// per row, find by email or mobile phone, then create, update (the
    /// row's non-empty values win) or leave unchanged. Poll the returned
    /// job with `importJob`. `mapping` overrides the header aliases. A file
    /// that cannot be imported at all (empty, a header that is not text,
    /// no email or phone column, a mapping naming no column) is refused
    /// with VALIDATION on `file` or `mapping`, and no job is queued. Needs
    /// ADMIN, MEMBER or INTEGRATION; a caller with as many jobs queued or
    /// running as allowed gets TOO_MANY_JOBS.
    async fn import_contacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The CSV file, as a multipart part: an export of Google Contacts, Outlook, HubSpot or Salesforce, or any file with an email or mobile phone column."
        )]
        file: Upload,
        #[graphql(
            default = false,
            desc = "Count what would be created, updated and failed, and write nothing."
        )]
        dry_run: bool,
        #[graphql(
            default,
            desc = "Columns to feed to a field, or to ignore (`field: null`), over the built-in header aliases."
        )]
        mapping: Vec<ColumnMappingInput>,
    ) -> ApiResult<ImportJob> {
        import::import_contacts(ctx, file, dry_run, mapping).await
    }

    /// Deletes a contact permanently (ADMIN, MEMBER); its email and phone
    /// are free again. Its activities and meetings stay (their contact
    /// becomes null), and reminders already planned still go out to the
    /// address they carry. Subscribers hear `contact.deleted`; CRMs are not
    /// told. A contact the caller cannot access is NOT_FOUND.
    async fn delete_contact(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The contact's `id`.")] id: ID,
    ) -> ApiResult<DeleteContactPayload> {
        let caller = principal(ctx)?;
        let app = state(ctx)?;
        let number = contact_id("id", &id)?;
        contact_writes::delete(&app.store, caller, number).await?;
        Ok(DeleteContactPayload {
            deleted_contact_id: id,
        })
    }
}
