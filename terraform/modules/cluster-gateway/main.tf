# Deploys one cluster's Isthmus gateway: computes the objects (./manifests, provider-free and tested offline)
# and applies them with the kubernetes provider: CRDs and the namespace first, the StatefulSet last.

module "manifests" {
  source = "./manifests"

  name                           = var.name
  namespace                      = var.namespace
  create_namespace               = var.create_namespace
  cluster_domain                 = var.cluster_domain
  image                          = var.image
  image_pull_policy              = var.image_pull_policy
  image_pull_secrets             = var.image_pull_secrets
  replicas                       = var.replicas
  cluster_name                   = var.cluster_name
  trust_domain                   = var.trust_domain
  root_certificate_pem           = var.root_certificate_pem
  intermediate_secret            = var.intermediate_secret
  intermediate_certificate_pem   = var.intermediate_certificate_pem
  intermediate_private_key_pem   = var.intermediate_private_key_pem
  intermediate_generations       = var.intermediate_generations
  active_intermediate_generation = var.active_intermediate_generation
  peers                          = var.peers
  ports                          = var.ports
  locality                       = var.locality
  bundle_refresh_hint            = var.bundle_refresh_hint
  svid_ttl                       = var.svid_ttl
  token_review_audiences         = var.token_review_audiences
  extra_config                   = var.extra_config
  public_address                 = var.public_address
  load_balancer                  = var.load_balancer
  admin_access                   = var.admin_access
  network_policy                 = var.network_policy
  resources                      = var.resources
  jvm_max_ram_percentage         = var.jvm_max_ram_percentage
  persistence                    = var.persistence
  scheduling                     = var.scheduling
  drain                          = var.drain
  install_crds                   = var.install_crds
  admin_token                    = var.admin_token
  admin_spiffe_ids               = var.admin_spiffe_ids
}

locals {
  objects = module.manifests.objects
  # The StatefulSet goes last (it mounts the Secrets and the ConfigMap) and is waited for.
  other_roles = toset([for k in keys(local.objects) : k if !contains(["namespace", "stateful_set"], k)])
}

# Deleting a CRD deletes every object of its kind in the cluster (every ServiceExport, ServiceImport and
# AuthorizationPolicy), so terraform destroy refuses to; to uninstall, `terraform state rm` them first and leave
# them, as Helm does. Where another MCS implementation installed the MCS CRDs, set install_crds.mcs = false.
resource "kubernetes_manifest" "crd" {
  for_each = module.manifests.crds
  manifest = each.value

  lifecycle {
    prevent_destroy = true
  }
}

resource "kubernetes_manifest" "namespace" {
  count    = var.create_namespace ? 1 : 0
  manifest = try(local.objects.namespace, null)
}

resource "kubernetes_manifest" "secret" {
  # Only the Secrets are sensitive; the role names are not.
  for_each = toset(nonsensitive(keys(module.manifests.secrets)))
  manifest = module.manifests.secrets[each.key]

  depends_on = [kubernetes_manifest.namespace]
}

resource "kubernetes_manifest" "object" {
  for_each = local.other_roles
  manifest = local.objects[each.key]

  depends_on = [kubernetes_manifest.crd, kubernetes_manifest.namespace]
}

resource "kubernetes_manifest" "stateful_set" {
  manifest = local.objects.stateful_set

  wait {
    rollout = var.wait_for_rollout
  }

  timeouts {
    create = var.rollout_timeout
    update = var.rollout_timeout
  }

  depends_on = [kubernetes_manifest.secret, kubernetes_manifest.object]
}
