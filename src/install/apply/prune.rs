//! Deleting what an install owned before and no longer renders. An object is the install's when it
//! carries its ownership labels ([`Ownership::selector`]): objects of other revisions, of other
//! IstioOperators and without labels (whatever their names) are never listed, so never touched.

use std::collections::{BTreeMap, BTreeSet};

use kube::Client;
use kube::api::{DeleteParams, ListParams, PropagationPolicy};

use super::order::OWNED_KINDS;
use super::{ApplyError, ObjectRef, api_for, message};
use crate::install::render::Ownership;

/// One object an install owns, as listed: its `apiVersion`, identity and labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owned {
    pub api_version: &'static str,
    pub object: ObjectRef,
    pub labels: BTreeMap<String, String>,
}

/// Every object of the cluster that `selector` (a label selector) picks among the kinds an
/// install owns, in [`OWNED_KINDS`] order.
pub async fn owned(client: &Client, selector: &str) -> Result<Vec<ObjectRef>, ApplyError> {
    Ok(owned_labelled(client, selector)
        .await?
        .into_iter()
        .map(|o| o.object)
        .collect())
}

/// [`owned`], with each object's `apiVersion` and labels (its revision and component).
pub async fn owned_labelled(client: &Client, selector: &str) -> Result<Vec<Owned>, ApplyError> {
    let params = ListParams::default().labels(selector);
    let mut found = Vec::new();
    for (api_version, kind) in OWNED_KINDS {
        let api = api_for(client, api_version, kind, None);
        let list = api
            .list_metadata(&params)
            .await
            .map_err(|e| ApplyError::Read {
                what: format!("{kind} objects labelled {selector}"),
                message: message(&e),
            })?;
        for item in list.items {
            found.push(Owned {
                api_version,
                object: ObjectRef {
                    kind: kind.to_string(),
                    namespace: item.metadata.namespace,
                    name: item.metadata.name.unwrap_or_default(),
                },
                labels: item.metadata.labels.unwrap_or_default(),
            });
        }
    }
    Ok(found)
}

/// Deletes `objects` (with `dryRun=All` in a dry run). Dependents (a Deployment's ReplicaSets)
/// are left to the garbage collector in the background: foreground deletion would keep the
/// object until they are gone, which never happens without a controller-manager.
async fn delete(client: &Client, objects: &[ObjectRef], dry_run: bool) -> Result<(), ApplyError> {
    let params = DeleteParams {
        dry_run,
        propagation_policy: Some(PropagationPolicy::Background),
        ..DeleteParams::default()
    };
    for object in objects {
        let api_version = OWNED_KINDS
            .iter()
            .find(|(_, kind)| *kind == object.kind)
            .map_or("v1", |(v, _)| *v);
        let api = api_for(
            client,
            api_version,
            &object.kind,
            object.namespace.as_deref(),
        );
        match api.delete(&object.name, &params).await {
            Ok(_) => {}
            // Deleted meanwhile (by a concurrent uninstall, or the user): what was wanted.
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(e) => {
                return Err(ApplyError::Prune {
                    object: object.clone(),
                    message: message(&e),
                });
            }
        }
    }
    Ok(())
}

/// Deletes the objects labelled as `ownership`'s that are not in `keep`; returns them.
pub async fn prune(
    client: &Client,
    ownership: &Ownership,
    keep: &BTreeSet<ObjectRef>,
    dry_run: bool,
) -> Result<Vec<ObjectRef>, ApplyError> {
    let stale: Vec<ObjectRef> = owned(client, &ownership.selector())
        .await?
        .into_iter()
        .filter(|o| !keep.contains(o))
        .collect();
    remove(client, stale, dry_run).await
}

/// Deletes every object `selector` picks among the kinds an install owns (`uninstall`); returns
/// them.
pub async fn uninstall(
    client: &Client,
    selector: &str,
    dry_run: bool,
) -> Result<Vec<ObjectRef>, ApplyError> {
    let objects = owned(client, selector).await?;
    remove(client, objects, dry_run).await
}

/// Deletes `objects` in the reverse of the apply order: webhooks go before the Service they
/// call, workloads before the accounts they run as. Returns them in that order.
pub async fn remove(
    client: &Client,
    mut objects: Vec<ObjectRef>,
    dry_run: bool,
) -> Result<Vec<ObjectRef>, ApplyError> {
    objects.sort_by_key(|o| std::cmp::Reverse(super::order::rank(&o.kind)));
    delete(client, &objects, dry_run).await?;
    Ok(objects)
}
